"""Signal system calls: sigaction, sigprocmask, sigreturn, kill, tkill, tgkill, pause;
waiting for signals (sigsuspend, sigpending, sigtimedwait), the alternate stack,
restart_syscall.  kill names processes (thread groups); tkill and tgkill name one thread."""

import ctypes
import struct

from ..errno import Errno
from ..proc import lifecycle
from ..proc import restart
from ..proc import sigframe
from ..proc import signal as sig
from ..proc.wait import Sleep
from ..trap import Signal
from .args import s32

SIGSET_SIZE = 8
SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 0, 1, 2


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
            group = p.group_signals
            group.pending = [x for x in group.pending if x.sig != signum]
    return 0


def sys_rt_sigprocmask(k, p, how: int, set_: int, oldset: int, sigsetsize: int) -> int:
    if sigsetsize != SIGSET_SIZE:
        return -Errno.EINVAL
    mem = k.user(p)
    old = p.sigmask
    if set_:
        mask = mem.read_u64(set_) & ~sig.UNBLOCKABLE
        if how == SIG_BLOCK:
            p.sigmask |= mask
        elif how == SIG_UNBLOCK:
            p.sigmask &= ~mask
        elif how == SIG_SETMASK:
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
    if pid == -1:           # every process but init, the caller and the kernel's servers
        return [q for q in leaders if q.pid not in (1, p.tgid) and q.tgid not in k.daemons]
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


def sys_rt_sigsuspend(k, p, mask: int, sigsetsize: int):
    """Wait with `mask` for a signal that runs a handler; the old mask comes back when the
    handler returns (it is the one saved in the frame: kernel/proc/sigframe.py)."""
    if sigsetsize != SIGSET_SIZE:
        return -Errno.EINVAL
    new = k.user(p).read_u64(mask) & ~sig.UNBLOCKABLE
    p.saved_sigmask, p.sigmask = p.sigmask, new
    while lifecycle.deliverable(p) is None:
        yield PAUSE
    return -restart.Restart.ERESTARTNOHAND


def sys_rt_sigpending(k, p, set_: int, sigsetsize: int) -> int:
    """The blocked signals waiting to be delivered."""
    if sigsetsize > SIGSET_SIZE:
        return -Errno.EINVAL
    pending = 0
    for info in lifecycle.pending_of(p):
        pending |= sig.bit(info.sig)
    k.user(p).write(set_, (pending & p.sigmask).to_bytes(SIGSET_SIZE, 'little')[:sigsetsize])
    return 0


def sys_rt_sigtimedwait(k, p, these: int, info: int, timeout: int, sigsetsize: int):
    """Take a signal of the set out of the pending ones (waiting for one, up to `timeout`
    of virtual time), instead of delivering it: its number, its siginfo in `info`."""
    if sigsetsize != SIGSET_SIZE:
        return -Errno.EINVAL
    mem = k.user(p)
    wanted = mem.read_u64(these) & ~sig.UNBLOCKABLE
    until = None
    if timeout:
        sec, nsec = struct.unpack('<qq', mem.read(timeout, 16))
        if sec < 0 or not 0 <= nsec < 10**9:
            return -Errno.EINVAL
        until = k.clock.after(sec * 10**9 + nsec)
    taken = _take(p, wanted)
    interrupted = False
    if taken is None and until != k.clock.now:
        # The set is unblocked while waiting, so that its signals end the wait.
        p.real_blocked, p.sigmask = p.sigmask, p.sigmask & ~wanted
        try:
            while until is None or k.clock.now < until:
                yield PAUSE if until is None else Sleep(until)
        except restart.Interrupted:
            interrupted = True
        finally:
            p.sigmask, p.real_blocked = p.real_blocked, 0
        taken = _take(p, wanted)
    if taken is None:
        return -Errno.EINTR if interrupted else -Errno.EAGAIN
    if info:
        si = sig.SigInfo(signo=taken.sig, code=taken.code, addr_or_pid=taken.addr_or_pid)
        mem.write(info, bytes(si))
    return taken.sig


def _take(p, wanted: int) -> sig.PendingSignal | None:
    """Dequeue the lowest-numbered pending signal of the set."""
    candidates = [x for x in lifecycle.pending_of(p) if wanted & sig.bit(x.sig)]
    if not candidates:
        return None
    first = min(candidates, key=lambda x: x.sig)
    lifecycle.dequeue(p, first)
    return first


def sys_sigaltstack(k, p, uss: int, uoss: int) -> int:
    mem = k.user(p)
    sp = k.cpu.reg('rsp')
    old = sigframe.report_altstack(p.altstack, sp)
    if uss:
        new = sig.StackT.from_buffer_copy(mem.read(uss, ctypes.sizeof(sig.StackT)))
        err = sigframe.set_altstack(p.altstack, sp, new)
        if err:
            return err
    if uoss:
        mem.write(uoss, bytes(old))
    return 0


def sys_restart_syscall(k, p):
    """Carry on with the call that a stop interrupted (its p.restart_block)."""
    block, p.restart_block = p.restart_block, None
    if block is None:
        return -Errno.EINTR
    return (yield from block())


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
