"""Signals: what each one does by default, and the layouts a handler sees.

Delivery happens when the kernel is about to return a process to user mode.  For a caught
signal the kernel writes a frame on the user stack (or the alternate signal stack) as Linux
x86-64 does (struct rt_sigframe: the return address = the sa_restorer musl passes, the
ucontext with the interrupted registers, the siginfo; below it the FXSAVE image of the
x87/SSE state), and starts the handler with rdi = signal, rsi = &info, rdx = &ucontext.
The restorer calls rt_sigreturn, which puts everything back from the user's copy
(kernel/proc/sigframe.py does both).
"""

import ctypes
import enum
from dataclasses import dataclass, field

from ..trap import Signal

NSIG = 64
SIG_DFL, SIG_IGN = 0, 1
SA_SIGINFO = 0x4
SA_RESTORER = 0x04000000
SA_RESTART = 0x10000000
SA_NODEFER = 0x40000000
SA_RESETHAND = 0x80000000
SA_ONSTACK = 0x08000000
RED_ZONE = 128


class Default(enum.Enum):
    TERMINATE = 'terminate'
    CORE = 'core'          # terminate (ukern writes no core file)
    IGNORE = 'ignore'
    STOP = 'stop'
    CONTINUE = 'continue'


_IGNORED = {Signal.SIGCHLD, 28}                       # SIGCHLD, SIGWINCH (and SIGURG below)
_STOPS = {Signal.SIGSTOP, Signal.SIGTSTP, 21, 22}     # SIGTTIN, SIGTTOU
_CORE = {Signal.SIGQUIT, Signal.SIGILL, Signal.SIGTRAP, Signal.SIGABRT, Signal.SIGBUS,
         Signal.SIGFPE, Signal.SIGSEGV, 24, 25, 31}   # SIGXCPU, SIGXFSZ, SIGSYS


def default_action(sig: int) -> Default:
    if sig in _IGNORED or sig == 23:                  # 23 = SIGURG
        return Default.IGNORE
    if sig in _STOPS:
        return Default.STOP
    if sig == Signal.SIGCONT:
        return Default.CONTINUE
    if sig in _CORE:
        return Default.CORE
    return Default.TERMINATE


def bit(sig: int) -> int:
    return 1 << (sig - 1)


UNBLOCKABLE = bit(Signal.SIGKILL) | bit(Signal.SIGSTOP)


@dataclass
class GroupSignals:
    """What the threads of a process share of signals (Linux's signal_struct): the queue of
    process-directed signals, which whichever thread first does not block one takes (also
    a thread that unblocks it later), and whether a group stop is in force (no thread of
    the group returns to user mode until SIGCONT, even one whose call ends meanwhile)."""
    pending: list = field(default_factory=list)      # PendingSignal, in arrival order
    stopped: bool = False


class KSigaction(ctypes.LittleEndianStructure):
    """struct sigaction as the kernel sees it (not libc's layout)."""
    _pack_ = 1
    _fields_ = [('handler', ctypes.c_uint64), ('flags', ctypes.c_uint64),
                ('restorer', ctypes.c_uint64), ('mask', ctypes.c_uint64)]


assert ctypes.sizeof(KSigaction) == 32


class SigInfo(ctypes.LittleEndianStructure):
    """siginfo_t: the fields ukern fills (signo, code, and the union's first words)."""
    _pack_ = 1
    _fields_ = [('signo', ctypes.c_int32), ('errno', ctypes.c_int32), ('code', ctypes.c_int32),
                ('pad', ctypes.c_int32), ('addr_or_pid', ctypes.c_uint64), ('uid', ctypes.c_uint64),
                ('rest', ctypes.c_uint8 * 96)]


assert ctypes.sizeof(SigInfo) == 128

# struct sigcontext (arch/x86/include/uapi/asm/sigcontext.h), in order: the names are the
# kernel's, the values come from the CPU's user registers.
SIGCONTEXT_GREGS = ('r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15', 'rdi', 'rsi', 'rbp',
                    'rbx', 'rdx', 'rax', 'rcx', 'rsp', 'rip', 'rflags')


class SigContext(ctypes.LittleEndianStructure):
    _pack_ = 1
    _fields_ = [(name, ctypes.c_uint64) for name in SIGCONTEXT_GREGS] + [
        ('cs', ctypes.c_uint16), ('gs', ctypes.c_uint16), ('fs', ctypes.c_uint16), ('ss', ctypes.c_uint16),
        ('err', ctypes.c_uint64), ('trapno', ctypes.c_uint64), ('oldmask', ctypes.c_uint64),
        ('cr2', ctypes.c_uint64), ('fpstate', ctypes.c_uint64), ('reserved', ctypes.c_uint64 * 8)]


assert ctypes.sizeof(SigContext) == 256


class UcFlags(enum.IntFlag):
    """uc_flags (arch/x86/include/uapi/asm/ucontext.h).  UC_FP_XSTATE stays clear: the
    frame's x87/SSE state is the plain FXSAVE image."""
    FP_XSTATE = 0x1
    SIGCONTEXT_SS = 0x2
    STRICT_RESTORE_SS = 0x4


class UContext(ctypes.LittleEndianStructure):
    _pack_ = 1
    _fields_ = [('flags', ctypes.c_uint64), ('link', ctypes.c_uint64),
                ('ss_sp', ctypes.c_uint64), ('ss_flags', ctypes.c_int32), ('ss_pad', ctypes.c_int32),
                ('ss_size', ctypes.c_uint64), ('mcontext', SigContext), ('sigmask', ctypes.c_uint64)]


assert ctypes.sizeof(UContext) == 304


class RtSigframe(ctypes.LittleEndianStructure):
    """What the handler finds on its stack (arch/x86/include/asm/sigframe.h)."""
    _pack_ = 1
    _fields_ = [('pretcode', ctypes.c_uint64), ('uc', UContext), ('info', SigInfo)]


assert ctypes.sizeof(RtSigframe) == 440


class StackT(ctypes.LittleEndianStructure):
    """stack_t, as sigaltstack reads and writes it (include/uapi/asm-generic/signal.h)."""
    _pack_ = 1
    _fields_ = [('ss_sp', ctypes.c_uint64), ('ss_flags', ctypes.c_int32), ('pad', ctypes.c_int32),
                ('ss_size', ctypes.c_uint64)]


assert ctypes.sizeof(StackT) == 24

SS_ONSTACK, SS_DISABLE = 1, 2
SS_AUTODISARM = 1 << 31        # disarm the stack while a handler runs on it
MINSIGSTKSZ = 2048


@dataclass
class AltStack:
    """The alternate signal stack (sigaltstack): per thread, inherited by fork, off after exec."""
    sp: int = 0
    size: int = 0
    flags: int = SS_DISABLE


@dataclass
class PendingSignal:
    """A signal sent and not yet delivered, with its siginfo fields."""
    sig: int
    code: int = 0          # si_code: SI_USER (0), SI_KERNEL (0x80), SEGV_MAPERR (1), ...
    addr_or_pid: int = 0


SI_USER, SI_KERNEL = 0, 0x80
SEGV_MAPERR, SEGV_ACCERR = 1, 2


def build_frame(regs: dict, sig: PendingSignal, restorer: int, old_mask: int, cr2: int = 0) -> RtSigframe:
    frame = RtSigframe()
    frame.pretcode = restorer
    mc = frame.uc.mcontext
    for name in SIGCONTEXT_GREGS:
        setattr(mc, name, regs[name])
    mc.cs, mc.ss = 0x23, 0x1B
    mc.cr2 = cr2
    mc.oldmask = old_mask
    frame.uc.sigmask = old_mask
    frame.info.signo = sig.sig
    frame.info.code = sig.code
    frame.info.addr_or_pid = sig.addr_or_pid
    return frame
