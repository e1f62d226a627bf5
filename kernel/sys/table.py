"""The system call table: Linux x86-64 numbers to handlers, and ukern's own calls above.

Each handler takes (kernel, process, *arguments) and returns a value or a negative errno.
A handler that may wait is a generator (see proc/wait.py).  The table is explicit on
purpose: reading it tells a student every call the kernel offers.
"""

import inspect
from dataclasses import dataclass
from typing import Callable

from . import aio, files, io, memory, objsys, pgtbl, process, signals, time, ukern
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
    2: files.sys_open,
    3: files.sys_close,
    4: files.sys_stat,
    5: files.sys_fstat,
    6: files.sys_lstat,
    8: files.sys_lseek,
    17: files.sys_pread64,
    18: files.sys_pwrite64,
    21: files.sys_access,
    32: files.sys_dup,
    33: files.sys_dup2,
    72: files.sys_fcntl,
    74: files.sys_fsync,
    75: files.sys_fsync,          # fdatasync
    76: files.sys_truncate,
    77: files.sys_ftruncate,
    79: files.sys_getcwd,
    80: files.sys_chdir,
    81: files.sys_fchdir,
    82: files.sys_rename,
    83: files.sys_mkdir,
    84: files.sys_rmdir,
    87: files.sys_unlink,
    88: files.sys_symlink,        # hostfs: the VFS and its symlinks
    89: files.sys_readlink,
    162: files.sys_sync,
    217: files.sys_getdents64,
    257: files.sys_openat,
    258: files.sys_mkdirat,
    262: files.sys_newfstatat,
    263: files.sys_unlinkat,
    264: files.sys_renameat,
    266: files.sys_symlinkat,     # hostfs: the VFS and its symlinks
    267: files.sys_readlinkat,
    269: files.sys_faccessat,
    292: files.sys_dup3,
    316: files.sys_renameat2,
    439: files.sys_faccessat,     # faccessat2 (its flags are ignored)
    9: memory.sys_mmap,
    10: memory.sys_mprotect,
    11: memory.sys_munmap,
    12: memory.sys_brk,
    13: signals.sys_rt_sigaction,
    14: signals.sys_rt_sigprocmask,
    15: signals.sys_rt_sigreturn,
    16: io.sys_ioctl,
    19: io.sys_readv,
    20: io.sys_writev,
    24: process.sys_sched_yield,
    26: memory.sys_msync,
    22: files.sys_pipe,
    34: signals.sys_pause,
    35: time.sys_nanosleep,
    39: process.sys_getpid,
    56: process.sys_clone,
    57: process.sys_fork,
    58: process.sys_fork,         # vfork: a copy-on-write fork is a correct vfork
    59: process.sys_execve,
    60: process.sys_exit,
    61: process.sys_wait4,
    62: signals.sys_kill,
    63: time.sys_uname,
    96: time.sys_gettimeofday,
    102: process.sys_getuid,
    104: process.sys_getuid,      # getgid
    107: process.sys_getuid,      # geteuid
    108: process.sys_getuid,      # getegid
    109: process.sys_setpgid,
    110: process.sys_getppid,
    111: process.sys_getpgrp,
    112: process.sys_setsid,
    121: process.sys_getpgid,
    124: process.sys_getsid,
    158: process.sys_arch_prctl,
    186: process.sys_getpid,      # gettid: one thread per process
    200: signals.sys_tkill,
    204: time.sys_sched_getaffinity,
    218: process.sys_set_tid_address,
    228: time.sys_clock_gettime,
    229: time.sys_clock_getres,
    230: time.sys_clock_nanosleep,
    231: process.sys_exit,        # exit_group: one thread per process
    234: signals.sys_tgkill,
    273: process.sys_set_robust_list,
    293: files.sys_pipe2,
    302: time.sys_prlimit64,
    318: time.sys_getrandom,
    # ukern's own calls (userland/include/ukern.h)
    UKERN_BASE + 0: ukern.sys_trace,
    UKERN_BASE + 1: ukern.sys_sysinfo,
    UKERN_BASE + 2: aio.sys_aread,
    UKERN_BASE + 3: aio.sys_awrite,
    UKERN_BASE + 4: aio.sys_await,
    UKERN_BASE + 5: aio.sys_apoll,
    UKERN_BASE + 6: pgtbl.sys_vmprint,
    UKERN_BASE + 7: pgtbl.sys_pgaccess,
    UKERN_BASE + 20: objsys.sys_cap_call,
    UKERN_BASE + 21: objsys.sys_cap_map,
    UKERN_BASE + 22: objsys.sys_cap_drop,
    UKERN_BASE + 23: objsys.sys_objsync,
}

SYSCALLS: dict[int, Syscall] = {nr: _entry(nr, h) for nr, h in _HANDLERS.items()}
