"""The system call table: Linux x86-64 numbers to handlers, and ukern's own calls above.

Each handler takes (kernel, process, *arguments) and returns a value or a negative errno.
A handler that may wait is a generator (see proc/wait.py).  The table is explicit on
purpose: reading it tells a student every call the kernel offers.
"""

from dataclasses import dataclass
from typing import Callable

from . import (absent, aio, creds, epoll, files, fsmeta, futex, info, io, itimer, limits, memory, objsys,
               pgtbl, poll, process, remap, signals, sysv, time, ukern)
from .names import syscall_name

# ukern's own calls live above Linux's range (userland/include/ukern.h declares them).
UKERN_BASE = 1000


@dataclass(frozen=True)
class Syscall:
    """One entry of the system call table."""
    nr: int
    name: str
    handler: Callable
    nargs: int
    blocking: bool


# Code-object flags (Python's inspect module names them; reading them here keeps inspect, and
# its cost at start-up, out of every run).
CO_VARARGS, CO_VARKEYWORDS, CO_GENERATOR = 0x04, 0x08, 0x20


def _entry(nr: int, handler: Callable) -> Syscall:
    name = syscall_name(nr) if nr < UKERN_BASE else handler.__name__.removeprefix('sys_')
    return Syscall(nr, name, handler, _nargs(handler), bool(handler.__code__.co_flags & CO_GENERATOR))


def _nargs(handler: Callable) -> int:
    """How many arguments after (k, p) the handler declares (through functools.wraps)."""
    while hasattr(handler, '__wrapped__'):
        handler = handler.__wrapped__
    code = handler.__code__
    extra = bool(code.co_flags & CO_VARARGS) + bool(code.co_flags & CO_VARKEYWORDS)
    return code.co_argcount + code.co_kwonlyargcount + extra - 2


_HANDLERS = {
    0: io.sys_read,
    1: io.sys_write,
    2: files.sys_open,
    3: files.sys_close,
    4: files.sys_stat,
    5: files.sys_fstat,
    17: files.sys_pread64,
    18: files.sys_pwrite64,
    21: files.sys_access,
    32: files.sys_dup,
    33: files.sys_dup2,
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
    162: files.sys_sync,
    217: files.sys_getdents64,
    257: files.sys_openat,
    258: files.sys_mkdirat,
    262: files.sys_newfstatat,
    263: files.sys_unlinkat,
    264: files.sys_renameat,
    269: files.sys_faccessat,
    292: files.sys_dup3,
    316: files.sys_renameat2,
    439: files.sys_faccessat,     # faccessat2 (its flags are ignored)
    # file metadata, links, locks (fsmeta.py; lseek, ioctl and fcntl pass the rest on)
    6: fsmeta.sys_lstat,
    8: fsmeta.sys_lseek,
    16: fsmeta.sys_ioctl,
    40: fsmeta.sys_sendfile,
    72: fsmeta.sys_fcntl,
    73: fsmeta.sys_flock,
    85: fsmeta.sys_creat,
    86: fsmeta.sys_link,
    88: fsmeta.sys_symlink,
    89: fsmeta.sys_readlink,
    90: fsmeta.sys_chmod,
    91: fsmeta.sys_fchmod,
    92: fsmeta.sys_chown,
    93: fsmeta.sys_fchown,
    94: fsmeta.sys_lchown,
    95: fsmeta.sys_umask,
    133: fsmeta.sys_mknod,
    137: fsmeta.sys_statfs,
    138: fsmeta.sys_fstatfs,
    259: fsmeta.sys_mknodat,
    260: fsmeta.sys_fchownat,
    265: fsmeta.sys_linkat,
    266: fsmeta.sys_symlinkat,
    267: fsmeta.sys_readlinkat,
    268: fsmeta.sys_fchmodat,
    280: fsmeta.sys_utimensat,
    285: fsmeta.sys_fallocate,
    332: fsmeta.sys_statx,
    9: memory.sys_mmap,
    10: memory.sys_mprotect,
    11: memory.sys_munmap,
    12: memory.sys_brk,
    13: signals.sys_rt_sigaction,
    14: signals.sys_rt_sigprocmask,
    15: signals.sys_rt_sigreturn,
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
    201: time.sys_time,
    109: process.sys_setpgid,
    110: process.sys_getppid,
    111: process.sys_getpgrp,
    112: process.sys_setsid,
    121: process.sys_getpgid,
    124: process.sys_getsid,
    158: process.sys_arch_prctl,
    186: process.sys_gettid,
    200: signals.sys_tkill,
    218: process.sys_set_tid_address,
    228: time.sys_clock_gettime,
    229: time.sys_clock_getres,
    230: time.sys_clock_nanosleep,
    231: process.sys_exit_group,
    234: signals.sys_tgkill,
    # threads and futexes
    202: futex.sys_futex,
    273: futex.sys_set_robust_list,
    274: futex.sys_get_robust_list,
    435: process.sys_clone3,
    293: files.sys_pipe2,
    318: time.sys_getrandom,
    # memory (issue 15: remap.py)
    25: remap.sys_mremap,
    28: remap.sys_madvise,
    # process information, ids, limits (issue 15: info.py, creds.py, limits.py)
    97: limits.sys_getrlimit,
    98: info.sys_getrusage,
    99: info.sys_sysinfo,
    100: info.sys_times,
    102: creds.sys_getuid,
    104: creds.sys_getgid,
    105: creds.sys_setuid,
    106: creds.sys_setgid,
    107: creds.sys_geteuid,
    108: creds.sys_getegid,
    113: creds.sys_setreuid,
    114: creds.sys_setregid,
    115: creds.sys_getgroups,
    116: creds.sys_setgroups,
    117: creds.sys_setresuid,
    118: creds.sys_getresuid,
    119: creds.sys_setresgid,
    120: creds.sys_getresgid,
    122: creds.sys_setfsuid,
    123: creds.sys_setfsgid,
    140: info.sys_getpriority,
    141: info.sys_setpriority,
    143: info.sys_sched_getparam,
    145: info.sys_sched_getscheduler,
    157: info.sys_prctl,
    160: limits.sys_setrlimit,
    203: info.sys_sched_setaffinity,
    204: info.sys_sched_getaffinity,
    247: process.sys_waitid,
    302: limits.sys_prlimit64,
    309: info.sys_getcpu,
    # System V IPC (issue 15: sysv.py, kernel/ipc/)
    29: sysv.sys_shmget,
    30: sysv.sys_shmat,
    31: sysv.sys_shmctl,
    64: sysv.sys_semget,
    65: sysv.sys_semop,
    66: sysv.sys_semctl,
    67: sysv.sys_shmdt,
    68: sysv.sys_msgget,
    69: sysv.sys_msgsnd,
    70: sysv.sys_msgrcv,
    71: sysv.sys_msgctl,
    220: sysv.sys_semtimedop,
    # waiting on several files (sys/poll.py, sys/epoll.py)
    7: poll.sys_poll,
    23: poll.sys_select,
    213: epoll.sys_epoll_create,
    232: epoll.sys_epoll_wait,
    233: epoll.sys_epoll_ctl,
    270: poll.sys_pselect6,
    271: poll.sys_ppoll,
    281: epoll.sys_epoll_pwait,
    284: epoll.sys_eventfd,
    290: epoll.sys_eventfd2,
    291: epoll.sys_epoll_create1,
    # signals: waiting for them, the alternate stack, restart; interval timers
    36: itimer.sys_getitimer,
    37: itimer.sys_alarm,
    38: itimer.sys_setitimer,
    127: signals.sys_rt_sigpending,
    128: signals.sys_rt_sigtimedwait,
    130: signals.sys_rt_sigsuspend,
    131: signals.sys_sigaltstack,
    219: signals.sys_restart_syscall,
    # file advice (issue 15 gaps: e2fsck asks for it)
    221: fsmeta.sys_fadvise64,
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

_HANDLERS.update({nr: absent.sys_not_offered for nr in absent.NOT_OFFERED})

SYSCALLS: dict[int, Syscall] = {nr: _entry(nr, h) for nr, h in _HANDLERS.items()}
