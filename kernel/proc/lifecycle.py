"""Birth, exec, death and burial of processes; sending and delivering signals.

fork copies the address space copy-on-write and the CPU context; execve builds the new
image first and swaps it in only when it is complete; exit frees memory and descriptors at
once, reparents the children to init and leaves a zombie with its wait status for the
parent; a signal is queued, interrupts an interruptible wait, and is acted on (default
action or handler frame) when the process next returns to user mode.
"""

import ctypes

from ..errno import Errno
from ..mm import pgtbl_report
from ..mm.uaccess import BadAddress
from ..trap import Signal
from . import exec as execmod
from . import signal as sig
from .process import Process, State

INIT_PID = 1
MAX_PROCS = 64


class ProcessLimit(Exception):
    pass


def new_pid(k) -> int:
    pid = k.next_pid
    k.next_pid += 1
    return pid


def live_count(k) -> int:
    return len(k.procs)


# -- creation --------------------------------------------------------------------------------
def create(k, data: bytes, argv: list[bytes], envp: list[bytes], fds, name: str, path: str) -> Process:
    """A new process running `data` (the first process, or one started by the host);
    `path` names the file in error messages."""
    if live_count(k) >= MAX_PROCS:
        raise ProcessLimit()
    aspace, entry, rsp = execmod.build_image(k, data, argv, envp, path)
    ctx = k.cpu.new_context()
    execmod.start_registers(k.cpu, ctx, entry, rsp)
    pid = new_pid(k)
    p = Process(pid, 0, name, aspace, ctx, fds)
    pgtbl_report.install_ukern_page(k, aspace, pid)
    k.procs[pid] = p
    k.runqueue.append(p)
    return p


def fork(k, parent: Process) -> Process | int:
    """The child of `parent` (called inside parent's fork system call), or -EAGAIN."""
    if live_count(k) >= MAX_PROCS:
        return -Errno.EAGAIN
    aspace = parent.aspace.fork()
    k.flush_tlb(parent)
    ctx = k.cpu.new_context()           # the parent's registers, exactly as at its syscall
    k.cpu.set_context_reg(ctx, 'rax', 0)
    child = Process(new_pid(k), parent.pid, parent.name, aspace, ctx, parent.fds.fork(),
                    pgid=parent.pgid, sid=parent.sid, cwd=parent.cwd, exe=parent.exe,
                    sigactions=dict(parent.sigactions), sigmask=parent.sigmask,
                    caps=list(parent.caps))
    pgtbl_report.install_ukern_page(k, aspace, child.pid)
    k.procs[child.pid] = child
    k.runqueue.append(child)
    return child


def exec_image(k, p: Process, data: bytes, argv: list[bytes], envp: list[bytes], name: str) -> None:
    """Replace p's program (execve after the file has been read).  Raises elf.ExecError,
    leaving p untouched."""
    aspace, entry, rsp = execmod.build_image(k, data, argv, envp, name)
    pgtbl_report.install_ukern_page(k, aspace, p.pid)

    def switch_image():
        old = p.aspace
        p.aspace = aspace
        execmod.start_registers(k.cpu, p.ctx, entry, rsp)
        k.cpu.load_context(p.ctx, aspace.pt.root)
        old.destroy()
        k.code_changed()
        p.fds.close_on_exec()
        p.name = name
        p.sigframes.clear()
        for s, act in list(p.sigactions.items()):
            if act.handler != sig.SIG_IGN:
                del p.sigactions[s]              # caught signals go back to their defaults
    p.resume_action = switch_image


# -- death -------------------------------------------------------------------------------------
def exit_process(k, p: Process, status: int) -> None:
    """Free what the process holds; it stays a zombie with its wait status."""
    if p.state is State.ZOMBIE:
        return
    if k.trace.enabled:
        k._emit('exit', p, status=status)
    abort_wait(p)
    p.fds.close_all()
    p.aspace.destroy()
    k.code_changed()
    p.exit_status = status
    p.state = State.ZOMBIE
    if p in k.runqueue:
        k.runqueue.remove(p)
    if k.current is p:
        k.current = None
    for child in children(k, p):
        child.ppid = INIT_PID if p.pid != INIT_PID else 0
        if child.state is State.ZOMBIE and INIT_PID in k.procs:
            k.procs[INIT_PID].children_events.wake_all(k.wake)
    parent = k.procs.get(p.ppid)
    if parent is not None and parent.state is not State.ZOMBIE:
        send(k, parent, Signal.SIGCHLD, sig.PendingSignal(Signal.SIGCHLD, 1, p.pid))
        parent.children_events.wake_all(k.wake)


def abort_wait(p: Process) -> None:
    """Drop a blocked system call (its generator's finally blocks release what it holds)."""
    if p.waiting_on is not None and hasattr(p.waiting_on, 'discard'):
        p.waiting_on.discard(p)
    p.waiting_on = None
    if p.pending is not None:
        gen, p.pending = p.pending, None
        gen.close()


def children(k, p: Process) -> list[Process]:
    return [c for c in k.procs.values() if c.ppid == p.pid]


def reap(k, child: Process) -> None:
    del k.procs[child.pid]


# -- signals -------------------------------------------------------------------------------------
def action_of(p: Process, s: int) -> sig.KSigaction:
    return p.sigactions.get(s) or sig.KSigaction()


def send(k, p: Process, s: int, info: sig.PendingSignal | None = None) -> None:
    """Queue signal s for p (kill, a fault, the console's Ctrl-C, a child's death)."""
    if p.state is State.ZOMBIE or not s:
        return
    info = info or sig.PendingSignal(s)
    if s == Signal.SIGKILL:
        k.terminate(p, s)
        return
    if s == Signal.SIGCONT:
        p.sigpending = [x for x in p.sigpending if sig.default_action(x.sig) is not sig.Default.STOP]
        if p.state is State.STOPPED:
            p.state = State.RUNNABLE
            k.runqueue.append(p)
    act = action_of(p, s)
    if act.handler == sig.SIG_IGN or (act.handler == sig.SIG_DFL and
                                       sig.default_action(s) in (sig.Default.IGNORE, sig.Default.CONTINUE)):
        return
    if s in (x.sig for x in p.sigpending):
        return                                   # standard signals do not queue twice
    p.sigpending.append(info)
    if not p.sigmask & sig.bit(s) and p.state is State.BLOCKED and interruptible(p):
        abort_wait(p)
        p.interrupted = True
        k.wake_interrupted(p)


def interruptible(p: Process) -> bool:
    return getattr(p.waiting_on, 'interruptible', False)


def deliverable(p: Process) -> sig.PendingSignal | None:
    for info in p.sigpending:
        if not p.sigmask & sig.bit(info.sig) or info.sig in (Signal.SIGKILL, Signal.SIGSTOP):
            return info
    return None


def deliver(k, p: Process) -> None:
    """At the return to user mode (p is current): act on each deliverable signal."""
    while p.state is State.RUNNABLE and (info := deliverable(p)) is not None:
        p.sigpending.remove(info)
        act = action_of(p, info.sig)
        if act.handler == sig.SIG_IGN:
            continue
        if act.handler == sig.SIG_DFL:
            default(k, p, info)
            continue
        push_frame(k, p, info, act)


def default(k, p: Process, info: sig.PendingSignal) -> None:
    what = sig.default_action(info.sig)
    if what in (sig.Default.TERMINATE, sig.Default.CORE):
        k.terminate(p, info.sig)
    elif what is sig.Default.STOP:
        p.state = State.STOPPED
        p.stop_signal = info.sig
        p.stop_reported = False
        if p in k.runqueue:
            k.runqueue.remove(p)
        parent = k.procs.get(p.ppid)
        if parent is not None:
            parent.children_events.wake_all(k.wake)


def push_frame(k, p: Process, info: sig.PendingSignal, act: sig.KSigaction) -> None:
    cpu = k.cpu
    regs = {name: cpu.reg(name) for name in sig.SIGCONTEXT_GREGS}
    frame = sig.build_frame(regs, info, act.restorer, p.sigmask, cr2=info.addr_or_pid)
    addr = sig.frame_address(regs['rsp'])
    try:
        k.user(p).write(addr, bytes(frame))
    except BadAddress:
        k.terminate(p, Signal.SIGSEGV, f'ukern: pid {p.pid} ({p.name}) killed by SIGSEGV: '
                                        f'no room on the stack for a {Signal(info.sig).name} handler')
        return
    p.sigframes.append(cpu.new_context())
    del p.sigframes[:-sig.MAX_NESTED_FRAMES]
    base = addr + sig.RtSigframe.uc.offset
    cpu.set_reg('rsp', addr)
    cpu.set_reg('rip', act.handler)
    cpu.set_reg('rdi', info.sig)
    cpu.set_reg('rsi', addr + sig.RtSigframe.info.offset)
    cpu.set_reg('rdx', base)
    cpu.set_reg('rax', 0)
    if not act.flags & sig.SA_NODEFER:
        p.sigmask |= sig.bit(info.sig)
    p.sigmask |= act.mask & ~sig.UNBLOCKABLE
    if act.flags & sig.SA_RESETHAND:
        p.sigactions.pop(info.sig, None)
    if k.trace.enabled:
        k._emit('signal', p, signal=info.sig, handler=act.handler, frame=addr)


def sigreturn(k, p: Process) -> None:
    """rt_sigreturn: the restorer has popped the return address, so rsp is the ucontext."""
    uc_addr = k.cpu.reg('rsp')
    uc = sig.UContext.from_buffer_copy(k.user(p).read(uc_addr, ctypes.sizeof(sig.UContext)))

    def restore():
        if p.sigframes:
            k.cpu.load_context(p.sigframes.pop(), p.aspace.pt.root)   # x87/SSE state, segment bases
        mc = uc.mcontext
        for name in sig.SIGCONTEXT_GREGS:
            value = getattr(mc, name)
            if name == 'rflags':
                value = (k.cpu.reg('rflags') & ~0x3C0DD5) | (value & 0x3C0DD5)
            k.cpu.set_reg(name, value)
        p.sigmask = uc.sigmask & ~sig.UNBLOCKABLE
    p.resume_action = restore
