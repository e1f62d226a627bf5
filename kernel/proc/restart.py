"""Restarting a system call that a signal interrupted, decided as Linux decides it.

When a signal ends a call's wait, the kernel throws Interrupted into the call's generator
where it waits.  A call may catch it (a sleep writes the time left, a pipe write returns
the bytes it has already written); if not, the call's result is the restart code of its
kind (include/linux/errno.h's ERESTART*, which no program ever sees).  The return to user
mode then settles it (arch/x86/kernel/signal.c):
  * a handler runs: ERESTARTSYS restarts the call if the handler has SA_RESTART, and
    ERESTARTNOINTR always; anything else returns EINTR (pause, sigsuspend, poll and select
    are ERESTARTNOHAND, nanosleep ERESTART_RESTARTBLOCK: never restarted after a handler);
  * no handler runs (the signal stopped the process and it was continued, say): the call
    restarts, a restart-block call through restart_syscall, which carries on where the
    call left off (a sleep keeps its end time).
Restarting is re-executing: rip goes back over the 2-byte `syscall` instruction and rax
gets the call's number back (kept at entry in p.syscall_nr, Linux's orig_rax).
"""

import enum

from ..errno import Errno
from . import signal as sig

SYSCALL_INSN_LEN = 2               # 0f 05
NR_RESTART_SYSCALL = 219


class Restart(enum.IntEnum):
    ERESTARTSYS = 512
    ERESTARTNOINTR = 513
    ERESTARTNOHAND = 514
    ERESTART_RESTARTBLOCK = 516


RESTART_FIRST, RESTART_LAST = min(Restart), max(Restart)


class Interrupted(Exception):
    """Thrown into a blocked system call's generator when a signal ends its wait."""


# Calls Linux never restarts once a handler has run, SA_RESTART or not (signal(7)).
NEVER_AFTER_HANDLER = {
    7: 'poll', 23: 'select', 34: 'pause', 130: 'rt_sigsuspend', 232: 'epoll_wait',
    270: 'pselect6', 271: 'ppoll', 281: 'epoll_pwait', 441: 'epoll_pwait2',
}


def interrupted_result(p) -> int:
    """What a call that let Interrupted pass returns."""
    if p.syscall_nr in NEVER_AFTER_HANDLER:
        return -Restart.ERESTARTNOHAND
    return -Restart.ERESTARTSYS


def is_restart_code(result: int) -> bool:
    return -RESTART_LAST <= result <= -RESTART_FIRST


def hold(p, result: int) -> int:
    """The call ended with a restart code: remember it until the return to user mode
    decides; meanwhile rax says EINTR."""
    p.restart = -result
    return -Errno.EINTR


def _rewind(k, p, nr: int) -> None:
    k.cpu.set_reg('rax', nr)
    k.cpu.set_reg('rip', k.cpu.reg('rip') - SYSCALL_INSN_LEN)


def before_handler(k, p, act: sig.KSigaction) -> None:
    """A handler is about to run (p is on the CPU): restart the interrupted call or let it
    return EINTR, before the registers go into the frame."""
    code, p.restart = p.restart, 0
    if code == Restart.ERESTARTNOINTR or (code == Restart.ERESTARTSYS and act.flags & sig.SA_RESTART):
        _rewind(k, p, p.syscall_nr)
    elif code:
        k.cpu.set_return(-Errno.EINTR)


def without_handler(k, p) -> None:
    """p returns to user mode and no handler ran for its interrupted call: the call
    restarts, and sigsuspend's mask is put back."""
    if p.saved_sigmask is not None:
        p.sigmask, p.saved_sigmask = p.saved_sigmask, None
    code, p.restart = p.restart, 0
    if code == Restart.ERESTART_RESTARTBLOCK:
        _rewind(k, p, NR_RESTART_SYSCALL)
    elif code:
        _rewind(k, p, p.syscall_nr)

