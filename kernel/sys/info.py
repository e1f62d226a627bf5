"""What a process may learn about itself and the machine, and the few scheduling knobs:
sysinfo, getrusage, times, prctl, getcpu, sched_getaffinity/setaffinity,
getpriority/setpriority, sched_getparam, sched_getscheduler.

Times are virtual (the kernel's clock).  A process is charged system time for each
system call and page fault (the costs the kernel models) and user time for the rest of
its slices (kernel.py: _run_slice); proc/resources.py: Usage holds the counts.  The
machine has one CPU, node 0.
"""

import ctypes
import struct

from ..errno import Errno
from ..mm.frames import PAGE_SIZE
from .args import s32

USER_HZ = 100                      # clock ticks per second, as times() and /proc count
NS_PER_TICK = 10**9 // USER_HZ
NCPUS = 1


def ticks(ns: int) -> int:
    return ns // NS_PER_TICK


def target(k, p, pid: int):
    """The process a call names by pid (0: the caller), or None."""
    pid = s32(pid)
    return p if pid == 0 else k.procs.get(pid) if pid > 0 else None


# -- sysinfo ----------------------------------------------------------------------------------
class SysinfoStruct(ctypes.LittleEndianStructure):
    """struct sysinfo (include/uapi/linux/sysinfo.h), x86-64."""
    _fields_ = [('uptime', ctypes.c_int64), ('loads', ctypes.c_uint64 * 3),
                ('totalram', ctypes.c_uint64), ('freeram', ctypes.c_uint64),
                ('sharedram', ctypes.c_uint64), ('bufferram', ctypes.c_uint64),
                ('totalswap', ctypes.c_uint64), ('freeswap', ctypes.c_uint64),
                ('procs', ctypes.c_uint16), ('pad', ctypes.c_uint16),
                ('totalhigh', ctypes.c_uint64), ('freehigh', ctypes.c_uint64),
                ('mem_unit', ctypes.c_uint32), ('_f', ctypes.c_char * 0)]


assert ctypes.sizeof(SysinfoStruct) == 112

LOAD_SHIFT = 16                    # SI_LOAD_SHIFT: loads are fixed point


def load_average(k) -> int:
    """Runnable processes now (ukern keeps no decaying average: the instant load)."""
    return len(k.runqueue)


def swap_pages(k) -> tuple[int, int]:
    """(total, free) swap slots, 0 when there is no swap."""
    swap = k.frames.swap
    if swap is None:
        return 0, 0
    return swap.nslots - 1, swap.free_slots


def sys_sysinfo(k, p, info: int) -> int:
    total_swap, free_swap = swap_pages(k)
    load = load_average(k) << LOAD_SHIFT
    s = SysinfoStruct(uptime=k.clock.now // 10**9, totalram=k.frames.total, freeram=k.frames.free_count,
                      totalswap=total_swap, freeswap=free_swap, procs=len(k.procs), mem_unit=PAGE_SIZE)
    s.loads[:] = [load, load, load]
    k.user(p).write(info, bytes(s))
    return 0


# -- getrusage, times -------------------------------------------------------------------------
class Timeval(ctypes.LittleEndianStructure):
    _fields_ = [('tv_sec', ctypes.c_int64), ('tv_usec', ctypes.c_int64)]


class RusageStruct(ctypes.LittleEndianStructure):
    """struct rusage (include/uapi/linux/resource.h)."""
    _fields_ = [('ru_utime', Timeval), ('ru_stime', Timeval)] + \
        [(name, ctypes.c_int64) for name in ('ru_maxrss', 'ru_ixrss', 'ru_idrss', 'ru_isrss',
                                             'ru_minflt', 'ru_majflt', 'ru_nswap', 'ru_inblock',
                                             'ru_oublock', 'ru_msgsnd', 'ru_msgrcv', 'ru_nsignals',
                                             'ru_nvcsw', 'ru_nivcsw')]


assert ctypes.sizeof(RusageStruct) == 144

RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD = 0, -1, 1


def _timeval(ns: int) -> Timeval:
    return Timeval(ns // 10**9, (ns % 10**9) // 1000)


def rusage_bytes(usage) -> bytes:
    """A Usage as struct rusage (also what wait4 reports for the child it reaps)."""
    return bytes(RusageStruct(ru_utime=_timeval(usage.utime), ru_stime=_timeval(usage.stime),
                              ru_maxrss=usage.maxrss * PAGE_SIZE // 1024,
                              ru_minflt=usage.minflt, ru_majflt=usage.majflt))


def note_rss(p) -> None:
    """Record the resident set's size for ru_maxrss (at getrusage and at exit)."""
    if p.aspace is not None:
        p.usage.maxrss = max(p.usage.maxrss, p.aspace.resident())


def sys_getrusage(k, p, who: int, usage: int) -> int:
    who = s32(who)
    if who in (RUSAGE_SELF, RUSAGE_THREAD):
        note_rss(p)
        data = rusage_bytes(p.usage)
    elif who == RUSAGE_CHILDREN:
        data = rusage_bytes(p.usage.children)
    else:
        return -Errno.EINVAL
    k.user(p).write(usage, data)
    return 0


class Tms(ctypes.LittleEndianStructure):
    """struct tms (include/uapi/linux/times.h), in clock ticks."""
    _fields_ = [('tms_utime', ctypes.c_int64), ('tms_stime', ctypes.c_int64),
                ('tms_cutime', ctypes.c_int64), ('tms_cstime', ctypes.c_int64)]


assert ctypes.sizeof(Tms) == 32


def sys_times(k, p, buf: int) -> int:
    if buf:
        u, c = p.usage, p.usage.children
        k.user(p).write(buf, bytes(Tms(ticks(u.utime), ticks(u.stime), ticks(c.utime), ticks(c.stime))))
    return ticks(k.clock.now)


# -- prctl --------------------------------------------------------------------------------------
class Pr:
    """prctl options ukern answers (include/uapi/linux/prctl.h)."""
    SET_PDEATHSIG = 1
    GET_PDEATHSIG = 2
    GET_DUMPABLE = 3
    SET_DUMPABLE = 4
    SET_NAME = 15
    GET_NAME = 16
    SET_CHILD_SUBREAPER = 36
    GET_CHILD_SUBREAPER = 37
    SET_NO_NEW_PRIVS = 38
    GET_NO_NEW_PRIVS = 39


TASK_COMM_LEN = 16
NSIG = 64


def _read_comm(k, p, addr: int) -> str:
    """Up to 15 bytes, stopping at a NUL (only the bytes read must be readable)."""
    mem, out = k.user(p), bytearray()
    while len(out) < TASK_COMM_LEN - 1:
        c = mem.read(addr + len(out), 1)
        if c == b'\0':
            break
        out += c
    return out.decode(errors='replace')


def sys_prctl(k, p, option: int, arg2: int, arg3: int, arg4: int, arg5: int) -> int:
    o, mem = p.options, k.user(p)
    option = s32(option)
    if option == Pr.SET_NAME:
        p.name = _read_comm(k, p, arg2)
    elif option == Pr.GET_NAME:
        mem.write(arg2, p.name.encode()[:TASK_COMM_LEN - 1].ljust(TASK_COMM_LEN, b'\0'))
    elif option == Pr.SET_PDEATHSIG:
        if not 0 <= arg2 <= NSIG:
            return -Errno.EINVAL
        o.pdeathsig = arg2
    elif option == Pr.GET_PDEATHSIG:
        mem.write(arg2, struct.pack('<i', o.pdeathsig))
    elif option == Pr.GET_DUMPABLE:
        return o.dumpable
    elif option == Pr.SET_DUMPABLE:
        if arg2 not in (0, 1):
            return -Errno.EINVAL
        o.dumpable = arg2
    elif option == Pr.SET_NO_NEW_PRIVS:
        if arg2 != 1 or arg3 or arg4 or arg5:
            return -Errno.EINVAL
        o.no_new_privs = 1
    elif option == Pr.GET_NO_NEW_PRIVS:
        if arg2 or arg3 or arg4 or arg5:
            return -Errno.EINVAL
        return o.no_new_privs
    elif option == Pr.SET_CHILD_SUBREAPER:
        o.child_subreaper = int(bool(arg2))
    elif option == Pr.GET_CHILD_SUBREAPER:
        mem.write(arg2, struct.pack('<i', o.child_subreaper))
    else:
        return -Errno.EINVAL
    return 0


# -- the CPU and scheduling -----------------------------------------------------------------------
CPUMASK_BYTES = 8                  # one long holds the mask of the machine's one CPU


def sys_getcpu(k, p, cpu: int, node: int, cache: int) -> int:
    if cpu:
        k.user(p).write(cpu, struct.pack('<I', 0))
    if node:
        k.user(p).write(node, struct.pack('<I', 0))
    return 0


def sys_sched_getaffinity(k, p, pid: int, size: int, mask: int) -> int:
    if target(k, p, pid) is None:
        return -Errno.ESRCH
    if size * 8 < NCPUS or size % 8:
        return -Errno.EINVAL
    k.user(p).write(mask, struct.pack('<Q', (1 << NCPUS) - 1))
    return CPUMASK_BYTES           # the bytes written, as Linux returns (glibc zeroes the rest)


def sys_sched_setaffinity(k, p, pid: int, size: int, mask: int) -> int:
    if target(k, p, pid) is None:
        return -Errno.ESRCH
    wanted = int.from_bytes(k.user(p).read(mask, min(size, CPUMASK_BYTES)), 'little') if size else 0
    if not wanted & ((1 << NCPUS) - 1):
        return -Errno.EINVAL       # no CPU of this machine in the mask
    return 0


PRIO_PROCESS, PRIO_PGRP, PRIO_USER = 0, 1, 2
NICE_MIN, NICE_MAX = -20, 19


def _prio_targets(k, p, which: int, who: int):
    who = s32(who)
    if which == PRIO_PROCESS:
        t = target(k, p, who)
        return [t] if t is not None else []
    if which == PRIO_PGRP:
        pgid = who or p.pgid
        return [q for q in k.procs.values() if q.pgid == pgid]
    if which == PRIO_USER:
        uid = who or p.creds.ruid
        return [q for q in k.procs.values() if q.creds.ruid == uid]
    return None


def sys_getpriority(k, p, which: int, who: int) -> int:
    procs = _prio_targets(k, p, which, who)
    if procs is None:
        return -Errno.EINVAL
    if not procs:
        return -Errno.ESRCH
    return 20 - min(q.options.nice for q in procs)     # the raw call returns 20 - nice


def sys_setpriority(k, p, which: int, who: int, prio: int) -> int:
    procs = _prio_targets(k, p, which, who)
    if procs is None:
        return -Errno.EINVAL
    if not procs:
        return -Errno.ESRCH
    nice = max(NICE_MIN, min(NICE_MAX, s32(prio)))
    for q in procs:
        q.options.nice = nice
    return 0


SCHED_OTHER = 0


def sys_sched_getscheduler(k, p, pid: int) -> int:
    if s32(pid) < 0:
        return -Errno.EINVAL
    return SCHED_OTHER if target(k, p, pid) is not None else -Errno.ESRCH


def sys_sched_getparam(k, p, pid: int, param: int) -> int:
    if s32(pid) < 0 or not param:
        return -Errno.EINVAL
    if target(k, p, pid) is None:
        return -Errno.ESRCH
    k.user(p).write(param, struct.pack('<i', 0))      # sched_priority: 0 under SCHED_OTHER
    return 0
