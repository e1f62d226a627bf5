"""The system call table: Linux x86-64 numbers to handlers, and ukern's own calls above.

Each handler takes (kernel, process, *arguments) and returns a value or a negative errno.
A handler that may wait is a generator (see proc/wait.py).  The table is explicit on
purpose: reading it tells a student every call the kernel offers.
"""

import inspect
from dataclasses import dataclass
from typing import Callable

from . import io, memory, process
from .names import syscall_name

# ukern's own calls live above Linux's range (userland/include/ukern.h declares them).
UKERN_BASE = 1000


@dataclass(frozen=True)
class Syscall:
    nr: int
    name: str
    handler: Callable
    nargs: int
    blocking: bool


def _entry(nr: int, handler: Callable) -> Syscall:
    params = list(inspect.signature(handler).parameters)[2:]
    name = syscall_name(nr) if nr < UKERN_BASE else handler.__name__.removeprefix('sys_')
    return Syscall(nr, name, handler, len(params), inspect.isgeneratorfunction(handler))


_HANDLERS = {
    0: io.sys_read,
    1: io.sys_write,
    9: memory.sys_mmap,
    10: memory.sys_mprotect,
    11: memory.sys_munmap,
    12: memory.sys_brk,
    13: process.sys_rt_sigaction,
    14: process.sys_rt_sigprocmask,
    16: io.sys_ioctl,
    19: io.sys_readv,
    20: io.sys_writev,
    24: process.sys_sched_yield,
    35: process.sys_nanosleep,
    39: process.sys_getpid,
    60: process.sys_exit,
    63: process.sys_uname,
    96: process.sys_gettimeofday,
    102: process.sys_getuid,
    104: process.sys_getuid,      # getgid
    107: process.sys_getuid,      # geteuid
    108: process.sys_getuid,      # getegid
    110: process.sys_getppid,
    158: process.sys_arch_prctl,
    186: process.sys_getpid,      # gettid: one thread per process
    204: process.sys_sched_getaffinity,
    218: process.sys_set_tid_address,
    228: process.sys_clock_gettime,
    229: process.sys_clock_getres,
    230: process.sys_clock_nanosleep,
    231: process.sys_exit,        # exit_group: one thread per process
    273: process.sys_set_robust_list,
    302: process.sys_prlimit64,
    318: process.sys_getrandom,
}

SYSCALLS: dict[int, Syscall] = {nr: _entry(nr, h) for nr, h in _HANDLERS.items()}
