"""Birth, exec, death and burial of processes; sending and delivering signals.

fork copies the address space copy-on-write and the CPU context; execve builds the new
image first and swaps it in only when it is complete; exit frees memory and descriptors at
once, reparents the children to init and leaves a zombie with its wait status for the
parent; a signal is queued, interrupts an interruptible wait, and is acted on (default
action or handler frame) when the process next returns to user mode.

Threads (clone with CLONE_THREAD) are tasks of one thread group: `exit` ends one thread,
`exit_process` (exit_group, a fatal signal) the whole group; memory and descriptors are
freed with the group's last thread.  A process-directed signal goes on the group's shared
queue (GroupSignals), where the first thread that does not block it takes it -- one that
does not block it now is woken for it; tkill/tgkill and faults queue a signal on one
thread.  A stop signal stops the whole group: running threads at once, a thread blocked
in a call when its call is over, before it would return to user mode; SIGCONT resumes all.
"""

import copy
import dataclasses

from ..errno import Errno
from ..mm import pgtbl_report
from ..mm.frames import OutOfMemory
from ..mm.uaccess import BadAddress
from ..trap import Signal
from . import exec as execmod
from . import itimer
from . import signal as sig
from . import futex
from .sigframe import push_frame, sigreturn       # noqa: F401 (delivery and rt_sigreturn)
from .process import Process, State, THREAD_SHARED
from .resources import Rlimit

INIT_PID = 1
MAX_PROCS = 64              # thread groups (each has its own address space and page tables)
MAX_TASKS = 512             # tasks (threads) in all: RLIMIT_NPROC as prlimit64 reports it


class ProcessLimit(Exception):
    pass


def new_pid(k) -> int:
    pid = k.next_pid
    while pid in k.procs:            # a server started with a pid of its own (objsrv)
        pid += 1
    k.next_pid = pid + 1
    return pid


def live_count(k) -> int:
    """Thread groups in the process table (zombies included: they hold a slot until reaped)."""
    return sum(1 for t in k.procs.values() if t.is_leader)


def threads_of(k, p: Process) -> list[Process]:
    """The live threads of p's group, in tid order."""
    return [t for t in k.procs.values() if t.tgid == p.tgid and t.state is not State.ZOMBIE]


def leader_of(k, p: Process) -> Process:
    return k.procs.get(p.tgid, p)


def group_alive(k, p: Process) -> bool:
    return any(t.tgid == p.tgid and t.state is not State.ZOMBIE for t in k.procs.values())


def group_stopped(k, p: Process) -> bool:
    """Is p's process in a group stop?"""
    return p.group_signals.stopped and group_alive(k, p)


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
    p = Process(pid, 0, name, aspace, ctx, fds, argv=list(argv))
    p.usage.start = k.clock.now
    aspace.limits = p.limits
    pgtbl_report.install_ukern_page(k, aspace, pid)
    k.procs[pid] = p
    k.runqueue.append(p)
    return p


def fork(k, parent: Process) -> Process | int:
    """The child of `parent` (called inside parent's fork system call), or -EAGAIN.
    Only the calling thread is copied: the child is a process with one thread."""
    if live_count(k) >= MAX_PROCS or len(k.procs) >= task_limit(parent):
        return -Errno.EAGAIN
    aspace = parent.aspace.fork()
    k.flush_tlb(parent)
    ctx = k.cpu.new_context()           # the parent's registers, exactly as at its syscall
    k.cpu.set_context_reg(ctx, 'rax', 0)
    child = Process(new_pid(k), parent.tgid, parent.name, aspace, ctx, parent.fds.fork(),
                    pgid=parent.pgid, sid=parent.sid, cwd=dataclasses.replace(parent.cwd),
                    fs_ctx=dataclasses.replace(parent.fs_ctx), exe=parent.exe,
                    sigactions=dict(parent.sigactions), sigmask=parent.sigmask,
                    caps=list(parent.caps), argv=parent.argv, limits=parent.limits.copy(),
                    creds=parent.creds.copy(), options=parent.options.copy(),
                    altstack=copy.copy(parent.altstack))
    child.usage.start = k.clock.now
    aspace.limits = child.limits
    child.fds.limit = parent.fds.limit
    parent.sysv.fork(k, parent, child)
    pgtbl_report.install_ukern_page(k, aspace, child.pid)
    k.procs[child.pid] = child
    k.runqueue.append(child)
    return child


def task_limit(p: Process) -> int:
    """How many tasks may exist when p makes one more: RLIMIT_NPROC counts threads and
    processes alike (as Linux counts a user's tasks), within the kernel's own table size."""
    return min(MAX_TASKS, p.limits.soft(Rlimit.NPROC))


def new_thread(k, parent: Process, share_files: bool, share_fs: bool) -> Process | int:
    """A new thread of parent's group (clone with CLONE_THREAD), or -EAGAIN.  Its registers
    are the parent's at the syscall, with rax = 0; the caller sets its stack and TLS."""
    if len(k.procs) >= task_limit(parent):
        return -Errno.EAGAIN
    ctx = k.cpu.new_context()
    k.cpu.set_context_reg(ctx, 'rax', 0)
    t = Process(new_pid(k), parent.ppid, parent.name, parent.aspace, ctx, parent.fds,
                pgid=parent.pgid, sid=parent.sid, sigmask=parent.sigmask, tgid=parent.tgid)
    for name in THREAD_SHARED:
        setattr(t, name, getattr(parent, name))
    if not share_files:
        t.fds = parent.fds.fork()
    if not share_fs:
        t.cwd = dataclasses.replace(parent.cwd)
    k.procs[t.pid] = t
    k.runqueue.append(t)
    return t


def exec_image(k, p: Process, data: bytes, argv: list[bytes], envp: list[bytes], name: str) -> None:
    """Replace p's program (execve after the file has been read).  Raises elf.ExecError,
    leaving p untouched.  The other threads of p's group end first, and p takes the
    group's pid (Linux's de_thread)."""
    aspace, entry, rsp = execmod.build_image(k, data, argv, envp, name)
    become_sole_thread(k, p)
    pgtbl_report.install_ukern_page(k, aspace, p.pid)
    p.exec_image = aspace            # p's until it switches: exit_process frees it if p dies first

    def switch_image():
        p.exec_image = None
        old = p.aspace
        p.aspace = aspace
        aspace.limits = p.limits
        execmod.start_registers(k.cpu, p.ctx, entry, rsp)
        k.cpu.load_context(p.ctx, aspace.pt.root)
        old.destroy()
        k.code_changed()
        p.fds.close_on_exec()
        p.name = name
        p.argv = list(argv)
        p.sysv.exec(k, p)
        p.altstack = sig.AltStack()
        p.restart, p.restart_block = 0, None
        for s, act in list(p.sigactions.items()):
            if act.handler != sig.SIG_IGN:
                del p.sigactions[s]              # caught signals go back to their defaults
    p.resume_action = switch_image


# -- death -------------------------------------------------------------------------------------
def exit_thread(k, p: Process, status: int) -> None:
    """exit(2): p ends; the last thread of a group ends the process with this status."""
    if p.state is State.ZOMBIE:
        return
    others = [t for t in threads_of(k, p) if t is not p]
    if not others:
        exit_process(k, p, status)
        return
    release_thread(k, p, memory_lives_on=True)
    if not any(t.fds is p.fds for t in others):
        p.fds.close_all()                        # a thread created without CLONE_FILES
    bury_thread(k, p)


def exit_process(k, p: Process, status: int) -> None:
    """exit_group(2) or a fatal signal: every thread of p's group ends, the memory and
    descriptors are freed, and the leader stays a zombie with the wait status."""
    leader = leader_of(k, p)
    threads = threads_of(k, p)
    if not threads or leader.exiting:
        # Tearing down can fault (clear_child_tid is a user write) and a fault can ask the
        # OOM killer for memory: the group being torn down must not be killed twice.
        return
    leader.exiting = True
    if k.trace.enabled:
        k._emit('exit', p, status=status)
    for t in threads:
        release_thread(k, t, memory_lives_on=False)
    leader.sysv.exit(k, leader)
    for t in threads:
        bury_thread(k, t)
    for table in {id(t.fds): t.fds for t in threads}.values():   # (one, unless not CLONE_FILES)
        table.close_all()
    leader.usage.maxrss = max(leader.usage.maxrss, p.aspace.resident())
    itimer.disarm_all(k, leader)
    if k.store_controller is not None:
        k.store_controller.exited(leader)      # a driver's pinned pages go with it
    p.aspace.destroy()
    for t in threads:
        discard_exec_image(t)
    k.code_changed()
    leader.exit_status = status
    leader.killed_by = p.killed_by
    for child in [q for q in k.procs.values() if q.ppid == p.tgid]:
        child.ppid = INIT_PID if p.tgid != INIT_PID else 0
        if child.is_leader and child.options.pdeathsig:
            send(k, child, child.options.pdeathsig)
        if child.is_leader and child.state is State.ZOMBIE and INIT_PID in k.procs:
            k.procs[INIT_PID].children_events.wake_all(k.wake)
    parent = k.procs.get(leader.ppid)
    if parent is not None and group_alive(k, parent):
        send(k, parent, Signal.SIGCHLD, sig.PendingSignal(Signal.SIGCHLD, 1, p.tgid))
        parent.children_events.wake_all(k.wake)
    if p.tgid == INIT_PID and k.init_ends_machine:
        kill_the_rest(k)


def discard_exec_image(p: Process) -> None:
    """p dies after execve built its new image but before it ran in it (killed as the
    vfork parent it released ran first, say): the image goes with it."""
    if p.exec_image is not None:
        p.exec_image.destroy()
        p.exec_image = p.resume_action = None


def kill_the_rest(k) -> None:
    """init has exited, so the machine is shutting down: every process still alive is
    killed, as a shutdown's final SIGKILL does (a detached one that would otherwise run
    forever included); the kernel's daemons stay to serve the write-back."""
    for q in list(k.procs.values()):
        if q.is_leader and q.state is not State.ZOMBIE and q.tgid not in k.daemons:
            k.terminate(q, Signal.SIGKILL)


def release_thread(k, p: Process, memory_lives_on: bool) -> None:
    """What a thread hands back as it dies, while its memory is still there: the robust
    futexes it holds, and its clear_child_tid word (cleared, its futex woken) if its memory
    lives on after it.  When the whole group dies no one can read that word (no other group
    shares an address space: fork copies it), so, as Linux does when no one else uses the
    memory, it is not written: the write can fault, and a group the OOM killer tears down
    must not wait for memory there is none of."""
    futex.exit_robust_list(k, p)
    if p.clear_child_tid and not memory_lives_on:
        p.clear_child_tid = 0
    if p.clear_child_tid:
        addr, p.clear_child_tid = p.clear_child_tid, 0
        try:
            k.user(p).write(addr, b'\0\0\0\0')
            futex.wake_word(k, p, addr, 1)
        except (BadAddress, OutOfMemory):
            pass                                 # the thread dies all the same


def bury_thread(k, p: Process) -> None:
    """p runs no more.  A leader stays in the table (its pid is the group's until the
    parent reaps it); another thread is gone at once."""
    abort_wait(p)
    p.state = State.ZOMBIE
    if p in k.runqueue:
        k.runqueue.remove(p)
    if k.current is p:
        k.current = None
    if not p.is_leader:
        k.procs.pop(p.pid, None)


def become_sole_thread(k, p: Process) -> None:
    """execve in a multi-threaded process: the other threads die, and a thread that is
    not the leader takes the leader's place and pid."""
    for t in threads_of(k, p):
        if t is not p:
            bury_thread(k, t)
    if p.is_leader:
        return
    leader = k.procs.pop(p.tgid, None)
    k.procs.pop(p.pid, None)
    p.pid = p.tgid
    if leader is not None:
        p.ppid, p.pgid, p.sid = leader.ppid, leader.pgid, leader.sid
    k.procs[p.pid] = p


def abort_wait(p: Process) -> None:
    """Drop a blocked system call (its generator's finally blocks release what it holds)."""
    if p.waiting_on is not None and hasattr(p.waiting_on, 'discard'):
        p.waiting_on.discard(p)
    p.waiting_on = None
    if p.pending is not None:
        gen, p.pending = p.pending, None
        gen.close()


def children(k, p: Process) -> list[Process]:
    """The child processes (their leaders) of p's group: any thread may wait for them."""
    return [c for c in k.procs.values() if c.ppid == p.tgid and c.is_leader]


def reapable(k, child: Process) -> bool:
    return child.state is State.ZOMBIE and not group_alive(k, child)


def reap(k, child: Process) -> None:
    parent = k.procs.get(child.ppid)
    if parent is not None:
        parent.usage.children.add(child.usage)
    del k.procs[child.pid]


# -- signals -------------------------------------------------------------------------------------
def action_of(p: Process, s: int) -> sig.KSigaction:
    return p.sigactions.get(s) or sig.KSigaction()


def send(k, p: Process, s: int, info: sig.PendingSignal | None = None) -> None:
    """Queue signal s for p's process (kill, the console's Ctrl-C, a child's death) on its
    group's shared queue; a thread that does not block it (p first) is woken to take it."""
    threads = threads_of(k, p)
    if not threads or not s:
        return
    if not _accept(k, p, s):
        return
    target = next((t for t in [p, *threads] if t.state is not State.ZOMBIE and
                   not t.sigmask & sig.bit(s)), None)
    if all(ignored(t, s) for t in threads):
        return
    group = p.group_signals
    if s in (x.sig for x in group.pending):
        return                                   # standard signals do not queue twice
    group.pending.append(info or sig.PendingSignal(s))
    if target is not None and target.state is State.BLOCKED and interruptible(target):
        interrupt_wait(k, target)


def send_thread(k, t: Process, s: int, info: sig.PendingSignal | None = None) -> None:
    """Queue signal s for thread t alone (tkill, tgkill, a fault t caused)."""
    if t.state is State.ZOMBIE or not s:
        return
    if _accept(k, t, s):
        _queue(k, t, info or sig.PendingSignal(s))


def _accept(k, p: Process, s: int) -> bool:
    """The group-wide effects of a signal at sending time; False if nothing is queued."""
    if s == Signal.SIGKILL:
        k.terminate(p, s)
        return False
    if s == Signal.SIGCONT:
        group = p.group_signals
        group.stopped = False
        group.pending = [x for x in group.pending if sig.default_action(x.sig) is not sig.Default.STOP]
        for t in threads_of(k, p):
            t.sigpending = [x for x in t.sigpending if sig.default_action(x.sig) is not sig.Default.STOP]
            if t.state is State.STOPPED:
                t.state = State.RUNNABLE
                k.runqueue.append(t)
                leader_of(k, p).cont_reported = False
        parent = k.procs.get(leader_of(k, p).ppid)
        if parent is not None:
            parent.children_events.wake_all(k.wake)
    return True


def _queue(k, p: Process, info: sig.PendingSignal) -> None:
    s = info.sig
    if ignored(p, s):
        return
    if s in (x.sig for x in p.sigpending):
        return                                   # standard signals do not queue twice
    p.sigpending.append(info)
    if not p.sigmask & sig.bit(s) and p.state is State.BLOCKED and interruptible(p):
        interrupt_wait(k, p)


def ignored(p: Process, s: int) -> bool:
    """Dropped at once?  Not while blocked or awaited by rt_sigtimedwait: the program may
    still take it with sigtimedwait or sigpending (kernel/signal.c sig_ignored)."""
    if (p.sigmask | p.real_blocked) & sig.bit(s):
        return False
    act = action_of(p, s)
    return act.handler == sig.SIG_IGN or (act.handler == sig.SIG_DFL and sig.default_action(s)
                                           in (sig.Default.IGNORE, sig.Default.CONTINUE))


def interrupt_wait(k, p: Process) -> None:
    """A signal ends p's wait: the call, resumed, meets restart.Interrupted where it waits."""
    if p.waiting_on is not None and hasattr(p.waiting_on, 'discard'):
        p.waiting_on.discard(p)
    p.waiting_on = None
    p.interrupted = True
    k.wake_interrupted(p)


def interruptible(p: Process) -> bool:
    return getattr(p.waiting_on, 'interruptible', False)


def deliverable(p: Process) -> sig.PendingSignal | None:
    """The first signal p may take now: its own queue first, then its group's."""
    for info in p.sigpending + p.group_signals.pending:
        if not p.sigmask & sig.bit(info.sig) or info.sig in (Signal.SIGKILL, Signal.SIGSTOP):
            return info
    return None


def has_pending(p: Process) -> bool:
    """Anything queued that p might take (thread-directed or process-directed)?"""
    return bool(p.sigpending or p.group_signals.pending)


def dequeue(p: Process, info: sig.PendingSignal) -> None:
    """Take `info` off whichever queue holds it (p's own or its group's)."""
    if info in p.sigpending:
        p.sigpending.remove(info)
    else:
        p.group_signals.pending.remove(info)


def pending_of(p: Process) -> list:
    """Every signal queued for p: its own, then its group's."""
    return p.sigpending + p.group_signals.pending


def stop_if_group_stopped(k, p: Process) -> bool:
    """At the return to user mode: a thread of a stopped group stops here (it was blocked
    in a call when the stop came, and the call has ended).  True if it stopped."""
    if not p.group_signals.stopped or p.state is not State.RUNNABLE:
        return False
    p.state = State.STOPPED
    if p in k.runqueue:
        k.runqueue.remove(p)
    return True


def deliver(k, p: Process) -> None:
    """At the return to user mode (p is current): act on each deliverable signal.  After a
    call that waited under a temporary mask (sigsuspend, ppoll, pselect6, epoll_pwait),
    signals are judged by that mask, and the first handler's frame holds the mask to go
    back to (p.saved_sigmask, as Linux keeps it: sigframe.push_frame); with no handler
    run, restart.without_handler puts it back."""
    while p.state is State.RUNNABLE and (info := deliverable(p)) is not None:
        dequeue(p, info)
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
    elif what is sig.Default.STOP:                 # the whole group stops
        p.group_signals.stopped = True
        for t in threads_of(k, p):
            if t.state is not State.RUNNABLE:
                continue                           # (a blocked thread stops when its call ends)
            t.state = State.STOPPED
            if t in k.runqueue:
                k.runqueue.remove(t)
        leader = leader_of(k, p)
        leader.stop_signal = info.sig
        leader.stop_reported = False
        parent = k.procs.get(p.ppid)
        if parent is not None:
            parent.children_events.wake_all(k.wake)
