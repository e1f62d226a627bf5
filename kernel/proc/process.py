"""The process: its CPU context, address space, descriptors, signals and family.

A process is RUNNABLE (on the run queue), BLOCKED (its system call waits on a queue,
`pending` holds the call's generator), STOPPED (by SIGSTOP and friends) or a ZOMBIE (it
has exited; its wait status waits for the parent's wait4).

A Process is one task (a thread): `pid` is its thread id and `tgid` the pid of its thread
group (the process as the user sees it, whose first thread is the group leader).  The
threads of a group share by reference the fields named in THREAD_SHARED (clone with
CLONE_THREAD copies those references); registers, signal mask, thread-directed signals,
clear_child_tid and the robust-list head are each thread's own.  The group's identity
(parent, process group, session, name, exit status) lives on its leader, which stays in
the process table as a dead thread until the group's last thread has exited.
"""

import enum
from dataclasses import dataclass, field
from typing import Any, Generator

from ..mm.vm import AddressSpace
from ..fs.vfs import Cwd
from ..ipc.held import ProcessIpc
from .resources import Limits, Creds, Usage, Options
from .itimer import ITimers
from .signal import AltStack, GroupSignals
from .wait import WaitQueue


@dataclass
class FsContext:
    """Process-wide file-creation state (Linux's fs_struct; threads share one)."""
    umask: int = 0o022                          # permission bits removed at create/mkdir/mknod


class State(enum.Enum):
    RUNNABLE = 'runnable'
    BLOCKED = 'blocked'
    STOPPED = 'stopped'
    ZOMBIE = 'zombie'


# What the threads of one process share by reference (each is a mutable object, so a change
# made through one thread is seen by all).  A process-wide field added to Process belongs here.
# (exe is bytes, not a mutable object: only execve replaces it, once the caller is the
# group's one thread, so a copy made at clone stays the group's.)
THREAD_SHARED = ('aspace', 'fds', 'cwd', 'sigactions', 'caps', 'children_events', 'fs_ctx',
                 'argv', 'limits', 'creds', 'usage', 'options', 'sysv', 'itimers', 'exe',
                 'group_signals')


@dataclass(eq=False)
class Process:
    """A task: a thread of a process (a thread group), with what it shares by reference."""
    pid: int
    ppid: int
    name: str
    aspace: AddressSpace
    ctx: Any                                    # the CPU context (emu.cpu.CPU.new_context)
    fds: 'object'                               # fs.file.FdTable
    pgid: int = 0
    sid: int = 0
    state: State = State.RUNNABLE
    exit_status: int = 0                        # wait-status encoding once a zombie
    pending: Generator | None = None            # a blocked system call, resumed on wake-up
    blocked_in: str = ''                        # the system call it last blocked in
    syscall: tuple = ()                         # (nr, name, args, start time) of the current call
    waiting_on: Any = None
    cwd: Cwd = field(default_factory=Cwd)                   # the root until chdir; copied at fork
    fs_ctx: FsContext = field(default_factory=FsContext)    # umask; copied at fork
    exe: bytes = b''                            # the program's path, as exec found it (/proc/PID/exe)
    # signals
    sigactions: dict = field(default_factory=dict)          # signal -> KSigaction
    sigmask: int = 0
    sigpending: list = field(default_factory=list)          # PendingSignal, in arrival order: this thread's
    group_signals: GroupSignals = field(default_factory=GroupSignals)   # the process's queue; group stop
    altstack: AltStack = field(default_factory=AltStack)    # sigaltstack: per thread
    saved_sigmask: int | None = None            # the mask sigsuspend/ppoll/pselect6 replaced, until delivery
    real_blocked: int = 0                       # the mask before rt_sigtimedwait unblocked its set
    # an interrupted system call (kernel/proc/restart.py)
    syscall_nr: int = -1                        # the call in progress (Linux's orig_rax)
    restart: int = 0                            # its ERESTART* code, until the return to user mode
    restart_block: Any = None                   # how restart_syscall carries on (a sleep's end)
    # interval timers: process-wide, shared by reference among threads, new at fork
    itimers: ITimers = field(default_factory=ITimers)
    killed_by: int = 0
    exiting: bool = False                       # the group is being torn down (on its leader)
    report: str = ''
    # family
    children_events: WaitQueue = field(default_factory=lambda: WaitQueue('wait4', interruptible=True))
    stop_reported: bool = True                  # a stop not yet seen by wait4(WUNTRACED)
    stop_signal: int = 0
    cont_reported: bool = True                  # a SIGCONT resumption not yet seen by wait (WCONTINUED)
    resume_action: Any = None                   # exec or sigreturn: applied before user mode
    exec_image: Any = None                      # execve's new address space, until resume_action switches to it
    interrupted: bool = False                   # a signal cut its wait short (restart.Interrupted)
    reclaimed_for: set = field(default_factory=set)   # pages faults got by reclaim since it last ran (pagefaults.py)
    clear_child_tid: int = 0                    # CLONE_CHILD_CLEARTID / set_tid_address
    robust_list: int = 0                        # set_robust_list's head (0: none)
    tgid: int = 0                               # the thread group = the process's pid
    vruntime: int = 0                           # proc/sched.py by_nice: virtual runtime, in weighted ns
    caps: list = field(default_factory=lambda: [None] * 64)   # the c-list (kernel/obj)
    # resources (proc/resources.py): process-wide, copied at fork
    argv: list = field(default_factory=list)                  # the arguments of its exec
    limits: Limits = field(default_factory=Limits)            # getrlimit/setrlimit
    creds: Creds = field(default_factory=Creds)               # user and group ids
    usage: Usage = field(default_factory=lambda: Usage(children=Usage()))   # getrusage
    options: Options = field(default_factory=Options)         # prctl
    sysv: ProcessIpc = field(default_factory=ProcessIpc)      # ipc/: shm attachments, sem undo

    def __post_init__(self):
        self.pgid = self.pgid or self.pid
        self.sid = self.sid or self.pid
        self.tgid = self.tgid or self.pid

    @property
    def is_leader(self) -> bool:
        return self.tgid == self.pid

    @property
    def regs(self) -> list[int]:
        """The saved user registers, in emu.cpu.USER_REGS order (for debuggers and tests)."""
        from emu.cpu import CPU, USER_REGS
        return [CPU.context_reg(self.ctx, name) for name in USER_REGS]

    def __repr__(self) -> str:
        return f'<pid {self.pid} ({self.name}) {self.state.value}>'
