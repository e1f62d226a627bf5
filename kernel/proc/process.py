"""The process: its CPU context, address space, descriptors, signals and family.

A process is RUNNABLE (on the run queue), BLOCKED (its system call waits on a queue,
`pending` holds the call's generator), STOPPED (by SIGSTOP and friends) or a ZOMBIE (it
has exited; its wait status waits for the parent's wait4).
"""

import enum
from dataclasses import dataclass, field
from typing import Any, Generator

from ..mm.vm import AddressSpace
from ..fs.vfs import Cwd
from .wait import WaitQueue


class State(enum.Enum):
    RUNNABLE = 'runnable'
    BLOCKED = 'blocked'
    STOPPED = 'stopped'
    ZOMBIE = 'zombie'


@dataclass(eq=False)
class Process:
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
    syscall: tuple = ()                         # (nr, name, args, start time) of the current call
    waiting_on: Any = None
    cwd: Cwd = field(default_factory=Cwd)                   # the root until chdir
    exe: bytes = b''                            # the program's path, as exec found it (/proc/PID/exe)
    # signals
    sigactions: dict = field(default_factory=dict)          # signal -> KSigaction
    sigmask: int = 0
    sigpending: list = field(default_factory=list)          # PendingSignal, in arrival order
    sigframes: list = field(default_factory=list)           # FPU contexts saved at delivery
    killed_by: int = 0
    report: str = ''
    # family
    children_events: WaitQueue = field(default_factory=lambda: WaitQueue('wait4', interruptible=True))
    stop_reported: bool = True                  # a stop not yet seen by wait4(WUNTRACED)
    stop_signal: int = 0
    resume_action: Any = None                   # exec or sigreturn: applied before user mode
    interrupted: bool = False                   # a signal cut its wait short: the call gives EINTR
    clear_child_tid: int = 0
    caps: list = field(default_factory=lambda: [None] * 64)   # the c-list (kernel/obj)

    def __post_init__(self):
        self.pgid = self.pgid or self.pid
        self.sid = self.sid or self.pid

    @property
    def regs(self) -> list[int]:
        """The saved user registers, in emu.cpu.USER_REGS order (for debuggers and tests)."""
        from emu.cpu import CPU, USER_REGS
        return [CPU.context_reg(self.ctx, name) for name in USER_REGS]

    def __repr__(self) -> str:
        return f'<pid {self.pid} ({self.name}) {self.state.value}>'
