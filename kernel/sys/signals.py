"""Signal system calls: sigaction, sigprocmask, sigreturn, kill, tkill, tgkill, pause.

kill names processes (thread groups); tkill and tgkill name one thread."""

import ctypes

from ..errno import Errno
from ..proc import lifecycle
from ..proc import signal as sig
from ..trap import Signal
from .args import s32


def sys_rt_sigaction(k, p, signum: int, act: int, oldact: int, sigsetsize: int) -> int:
    if not 1 <= signum <= sig.NSIG or sigsetsize != 8:
        return -Errno.EINVAL
    mem = k.user(p)
    old = lifecycle.action_of(p, signum)
    if act:
        if signum in (Signal.SIGKILL, Signal.SIGSTOP):
            return -Errno.EINVAL
        new = sig.KSigaction.from_buffer_copy(mem.read(act, ctypes.sizeof(sig.KSigaction)))
    if oldact:
        mem.write(oldact, bytes(old))
    if act:
        p.sigactions[signum] = new
        if new.handler == sig.SIG_IGN:                 # (handlers are the whole process's)
            for t in lifecycle.threads_of(k, p):
                t.sigpending = [x for x in t.sigpending if x.sig != signum]
    return 0


def sys_rt_sigprocmask(k, p, how: int, set_: int, oldset: int, sigsetsize: int) -> int:
    if sigsetsize != 8:
        return -Errno.EINVAL
    mem = k.user(p)
    old = p.sigmask
    if set_:
        mask = mem.read_u64(set_) & ~sig.UNBLOCKABLE
        if how == 0:
            p.sigmask |= mask
        elif how == 1:
            p.sigmask &= ~mask
        elif how == 2:
            p.sigmask = mask
        else:
            return -Errno.EINVAL
    if oldset:
        mem.write_u64(oldset, old)
    return 0


def sys_rt_sigreturn(k, p):
    lifecycle.sigreturn(k, p)
    return k.NO_RETURN


def _targets(k, p, pid: int) -> list:
    """The processes (their leaders) kill's pid names."""
    pid = s32(pid)
    leaders = [q for q in k.procs.values() if q.is_leader]
    if pid > 0:
        return [q for q in leaders if q.pid == pid]
    if pid == 0:
        return [q for q in leaders if q.pgid == p.pgid]
    if pid == -1:
        return [q for q in leaders if q.pid not in (1, p.tgid)]
    return [q for q in leaders if q.pgid == -pid]


def sys_kill(k, p, pid: int, signum: int) -> int:
    if not 0 <= signum <= sig.NSIG:
        return -Errno.EINVAL
    targets = [q for q in _targets(k, p, pid) if lifecycle.group_alive(k, q)]
    if not targets:
        return -Errno.ESRCH
    for q in targets:
        lifecycle.send(k, q, signum, sig.PendingSignal(signum, sig.SI_USER, p.pid))
    return 0


def sys_tkill(k, p, tid: int, signum: int) -> int:
    return sys_tgkill(k, p, -1, tid, signum)


def sys_tgkill(k, p, tgid: int, tid: int, signum: int) -> int:
    """A signal to thread tid (of process tgid; -1 from tkill: any process)."""
    tgid, tid = s32(tgid), s32(tid)
    if tid <= 0 or tgid == 0 or tgid < -1 or not 0 <= signum <= sig.NSIG:
        return -Errno.EINVAL
    t = k.procs.get(tid)
    if t is None or t.state.value == 'zombie' or tgid != -1 and t.tgid != tgid:
        return -Errno.ESRCH
    lifecycle.send_thread(k, t, signum, sig.PendingSignal(signum, SI_TKILL, p.tgid))
    return 0


SI_TKILL = -6             # si_code of a signal sent by tkill/tgkill


def sys_pause(k, p):
    while True:
        yield PAUSE


class _Pause:
    """Waits for nothing but a signal."""
    interruptible = True
    name = 'pause'

    def add(self, p):
        pass

    def discard(self, p):
        pass


PAUSE = _Pause()
