"""The process: its registers, address space, descriptors and scheduling state."""

import enum
from dataclasses import dataclass, field
from typing import Any, Generator

from ..mm.vm import AddressSpace
from ..fs.vfs import Cwd


class State(enum.Enum):
    RUNNABLE = 'runnable'
    BLOCKED = 'blocked'
    ZOMBIE = 'zombie'


@dataclass
class Process:
    pid: int
    ppid: int
    name: str
    aspace: AddressSpace
    regs: list[int]
    fds: 'object'                               # fs.file.FdTable
    state: State = State.RUNNABLE
    exit_status: int = 0                        # wait-status encoding once a zombie
    pending: Generator | None = None            # a blocked system call, resumed on wake-up
    syscall: tuple = ()                         # (nr, name, args, start time) of the current call
    waiting_on: Any = None
    wake_value: Any = None
    sigactions: dict = field(default_factory=dict)
    sigmask: int = 0
    clear_child_tid: int = 0
    killed_by: int = 0
    cwd: Cwd = field(default_factory=lambda: Cwd(2, '/'))   # ext2's root inode
    report: str = ''

    def __repr__(self) -> str:
        return f'<pid {self.pid} ({self.name}) {self.state.value}>'
