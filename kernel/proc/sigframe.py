"""Signal frames: where a handler's frame goes, what it holds, and rt_sigreturn.

From the interrupted rsp down (arch/x86/kernel/signal.c, get_sigframe):
    the 128-byte red zone, skipped      (or instead: the top of the alternate signal stack,
                                          when the handler has SA_ONSTACK and the process
                                          is not already on that stack)
    the FXSAVE image of the x87/SSE state, 64-byte aligned     <- uc_mcontext.fpstate
    struct rt_sigframe, placed so that the handler starts as if just called
Everything the interrupted code needs is in the user's copy: rt_sigreturn takes registers,
signal mask, x87/SSE state and alternate-stack settings back from it, so a handler that
edits its ucontext changes what the program resumes with, as on Linux.  The handler itself
starts with the x87/SSE state of a new program.
"""

import ctypes

from emu.fpu import FXState, MXCSR_MASK, fx_init
from ..errno import Errno
from ..mm.uaccess import BadAddress
from ..trap import Signal
from . import restart
from . import signal as sig

FP_ALIGN = 64                      # Linux aligns the x87/SSE area for XSAVE; FXSAVE needs 16
RFLAGS_CLEARED_FOR_HANDLER = (1 << 8) | (1 << 10) | (1 << 16)     # TF, DF, RF
RFLAGS_RESTORABLE = 0x3C0DD5       # flags rt_sigreturn takes from the frame (emu.cpu)


# -- the alternate signal stack ----------------------------------------------------------------
def on_altstack(st: sig.AltStack, sp: int) -> bool:
    """Is sp inside the alternate stack (which is never so while it is auto-disarmed)?"""
    if st.flags & sig.SS_AUTODISARM:
        return False
    return st.sp < sp <= st.sp + st.size


def altstack_state(st: sig.AltStack, sp: int) -> int:
    """ss_flags as sigaltstack reports them for a process whose rsp is sp."""
    if not st.size:
        return sig.SS_DISABLE
    return sig.SS_ONSTACK if on_altstack(st, sp) else 0


def set_altstack(st: sig.AltStack, sp: int, new: sig.StackT) -> int:
    """sigaltstack's change (kernel/signal.c do_sigaltstack): 0 or a negative errno."""
    if on_altstack(st, sp):
        return -Errno.EPERM
    flags = new.ss_flags & 0xFFFF_FFFF           # an int in stack_t: SS_AUTODISARM is its sign
    mode = flags & ~sig.SS_AUTODISARM
    if mode not in (0, sig.SS_ONSTACK, sig.SS_DISABLE):
        return -Errno.EINVAL
    if mode == sig.SS_DISABLE:
        st.sp, st.size, st.flags = 0, 0, flags
        return 0
    if new.ss_size < sig.MINSIGSTKSZ:
        return -Errno.ENOMEM
    st.sp, st.size, st.flags = new.ss_sp, new.ss_size, flags
    return 0


def report_altstack(st: sig.AltStack, sp: int) -> sig.StackT:
    return sig.StackT(ss_sp=st.sp, ss_size=st.size,
                      ss_flags=altstack_state(st, sp) | (st.flags & sig.SS_AUTODISARM))


# -- delivery ------------------------------------------------------------------------------------
def frame_place(st: sig.AltStack, act: sig.KSigaction, rsp: int) -> tuple[int, int] | None:
    """(frame address, x87/SSE area address), or None when the alternate stack would
    overflow (the process then dies of SIGSEGV, as on Linux)."""
    nested = on_altstack(st, rsp)
    sp = rsp - sig.RED_ZONE
    entering = False
    if act.flags & sig.SA_ONSTACK and altstack_state(st, sp) == 0:
        sp, entering = st.sp + st.size, True
    fp = (sp - ctypes.sizeof(FXState)) & ~(FP_ALIGN - 1)
    frame = ((fp - ctypes.sizeof(sig.RtSigframe)) & ~15) - 8
    if (nested or entering) and not (st.sp < frame <= st.sp + st.size):
        return None
    return frame, fp


def push_frame(k, p, info: sig.PendingSignal, act: sig.KSigaction) -> None:
    """Start the handler `act` for `info` (p is on the CPU, about to return to user mode)."""
    cpu = k.cpu
    restart.before_handler(k, p, act)
    regs = {name: cpu.reg(name) for name in sig.SIGCONTEXT_GREGS}
    place = frame_place(p.altstack, act, regs['rsp'])
    if place is None:
        _no_room(k, p, info, 'alternate signal stack')
        return
    addr, fp = place
    old_mask = p.sigmask if p.saved_sigmask is None else p.saved_sigmask
    frame = sig.build_frame(regs, info, act.restorer, old_mask, cr2=info.addr_or_pid)
    frame.uc.flags = sig.UcFlags.SIGCONTEXT_SS | sig.UcFlags.STRICT_RESTORE_SS
    frame.uc.ss_sp, frame.uc.ss_flags, frame.uc.ss_size = p.altstack.sp, p.altstack.flags, p.altstack.size
    frame.uc.mcontext.fpstate = fp
    try:
        mem = k.user(p)
        mem.write(fp, bytes(cpu.fxsave()))
        mem.write(addr, bytes(frame))
    except BadAddress:
        _no_room(k, p, info, 'stack')
        return
    p.saved_sigmask = None
    if p.altstack.flags & sig.SS_AUTODISARM:
        p.altstack.sp, p.altstack.size, p.altstack.flags = 0, 0, sig.SS_DISABLE
    cpu.fxrstor(fx_init())
    cpu.set_reg('rflags', regs['rflags'] & ~RFLAGS_CLEARED_FOR_HANDLER)
    cpu.set_reg('rsp', addr)
    cpu.set_reg('rip', act.handler)
    cpu.set_reg('rdi', info.sig)
    cpu.set_reg('rsi', addr + sig.RtSigframe.info.offset)
    cpu.set_reg('rdx', addr + sig.RtSigframe.uc.offset)
    cpu.set_reg('rax', 0)
    if not act.flags & sig.SA_NODEFER:
        p.sigmask |= sig.bit(info.sig)
    p.sigmask |= act.mask & ~sig.UNBLOCKABLE
    if act.flags & sig.SA_RESETHAND:
        p.sigactions.pop(info.sig, None)
    if k.trace.enabled:
        k._emit('signal', p, signal=info.sig, handler=act.handler, frame=addr)


def _no_room(k, p, info: sig.PendingSignal, where: str) -> None:
    k.terminate(p, Signal.SIGSEGV, f'ukern: pid {p.pid} ({p.name}) killed by SIGSEGV: '
                                    f'no room on the {where} for a {Signal(info.sig).name} handler')


# -- rt_sigreturn --------------------------------------------------------------------------------
def sigreturn(k, p) -> None:
    """The restorer has popped the return address, so rsp is the ucontext.  What the frame
    holds is read now (a bad frame kills with SIGSEGV) and loaded on the way out."""
    uc_addr = k.cpu.reg('rsp')
    try:
        mem = k.user(p)
        uc = sig.UContext.from_buffer_copy(mem.read(uc_addr, ctypes.sizeof(sig.UContext)))
        fpstate = uc.mcontext.fpstate
        fx = FXState.from_buffer_copy(mem.read(fpstate, ctypes.sizeof(FXState))) if fpstate else fx_init()
    except BadAddress:
        fx = None
    if fx is None or fx.mxcsr & ~MXCSR_MASK:       # FXRSTOR would raise #GP on the latter
        k.terminate(p, Signal.SIGSEGV, f'ukern: pid {p.pid} ({p.name}) killed by SIGSEGV: '
                                        f'bad signal frame at {uc_addr:#x} in rt_sigreturn')
        return

    def restore():
        cpu = k.cpu
        mc = uc.mcontext
        for name in sig.SIGCONTEXT_GREGS:
            value = getattr(mc, name)
            if name == 'rflags':
                value = (cpu.reg('rflags') & ~RFLAGS_RESTORABLE) | (value & RFLAGS_RESTORABLE)
            cpu.set_reg(name, value)
        cpu.fxrstor(fx)
        p.sigmask = uc.sigmask & ~sig.UNBLOCKABLE
        p.restart = 0
        stack = sig.StackT(ss_sp=uc.ss_sp, ss_flags=uc.ss_flags, ss_size=uc.ss_size)
        set_altstack(p.altstack, mc.rsp, stack)   # refused (EPERM) while still on it, as on Linux
    p.resume_action = restore
