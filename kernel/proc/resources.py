"""What a process owns besides memory and files: its resource limits, its user and group
ids, the time and faults counted to it, and the knobs prctl turns.

Each is a small mutable object held by a Process field, copied at fork (so a child starts
with its parent's values and changes them alone) and, for threads of one process, shared
by reference.  The system calls that read and change them are in kernel/sys/limits.py,
kernel/sys/creds.py and kernel/sys/info.py.
"""

import enum
from dataclasses import dataclass, field, replace

RLIM_INFINITY = (1 << 64) - 1


class Rlimit(enum.IntEnum):
    """Resource numbers (include/uapi/asm-generic/resource.h)."""
    CPU = 0
    FSIZE = 1
    DATA = 2
    STACK = 3
    CORE = 4
    RSS = 5
    NPROC = 6
    NOFILE = 7
    MEMLOCK = 8
    AS = 9
    LOCKS = 10
    SIGPENDING = 11
    MSGQUEUE = 12
    NICE = 13
    RTPRIO = 14
    RTTIME = 15


# Linux's defaults for a root shell, except NOFILE's hard limit: the descriptor table
# has room for 256 descriptors at most (fs/file.py: MAX_FDS).
DEFAULT_LIMITS = {
    Rlimit.STACK: (8 << 20, RLIM_INFINITY),
    Rlimit.CORE: (0, RLIM_INFINITY),
    Rlimit.NPROC: (512, 512),        # tasks (threads and processes): lifecycle.MAX_TASKS
    Rlimit.NOFILE: (256, 256),
    Rlimit.MEMLOCK: (8 << 20, 8 << 20),
    Rlimit.SIGPENDING: (1024, 1024),
    Rlimit.MSGQUEUE: (819200, 819200),
    Rlimit.NICE: (0, 0),
    Rlimit.RTPRIO: (0, 0),
}


@dataclass
class Limits:
    """getrlimit/setrlimit: resource -> (soft, hard)."""
    values: dict = field(default_factory=lambda: dict(DEFAULT_LIMITS))

    def get(self, resource: int) -> tuple[int, int]:
        return self.values.get(resource, (RLIM_INFINITY, RLIM_INFINITY))

    def soft(self, resource: int) -> int:
        return self.get(resource)[0]

    def copy(self) -> 'Limits':
        return Limits(dict(self.values))


@dataclass
class Creds:
    """User and group ids: real, effective, saved, file-system; supplementary groups.
    A single-user system: everyone starts as root and may become anyone."""
    ruid: int = 0
    euid: int = 0
    suid: int = 0
    fsuid: int = 0
    rgid: int = 0
    egid: int = 0
    sgid: int = 0
    fsgid: int = 0
    groups: list = field(default_factory=list)

    def copy(self) -> 'Creds':
        return replace(self, groups=list(self.groups))


@dataclass
class Usage:
    """Time and page faults counted to a process (getrusage, times, /proc/PID/stat), in
    virtual nanoseconds; `children` sums the usage of the children it has reaped."""
    utime: int = 0
    stime: int = 0
    minflt: int = 0
    majflt: int = 0
    maxrss: int = 0              # pages, the largest resident set seen
    start: int = 0               # virtual time of creation
    children: 'Usage | None' = None

    def add(self, other: 'Usage') -> None:
        """Fold a reaped child's own and its children's usage into this one."""
        for u in (other, other.children):
            if u is None:
                continue
            self.utime += u.utime
            self.stime += u.stime
            self.minflt += u.minflt
            self.majflt += u.majflt
            self.maxrss = max(self.maxrss, u.maxrss)


@dataclass
class Options:
    """What prctl sets (PR_SET_PDEATHSIG, PR_SET_DUMPABLE, ...)."""
    pdeathsig: int = 0
    dumpable: int = 1
    no_new_privs: int = 0
    child_subreaper: int = 0
    nice: int = 0                # getpriority/setpriority (the scheduler does not use it)

    def copy(self) -> 'Options':
        # the parent-death signal is not inherited (prctl(2)); the rest is
        return replace(self, pdeathsig=0, child_subreaper=0)
