"""Time and the machine's description: clocks (virtual), sleeping, uname, random bytes
(deterministic, from the kernel's seeded generator)."""

import struct

from ..errno import Errno
from ..proc.restart import Interrupted, Restart
from ..proc.wait import Sleep

CLOCK_REALTIME, CLOCK_MONOTONIC = 0, 1
TIMER_ABSTIME = 1
EPOCH_NS = 1_767_225_600 * 10**9       # guest wall time starts at 2026-01-01 00:00:00 UTC
UTSNAME_FIELD = 65
# Linux's time types count nanoseconds in a signed 64-bit integer (KTIME_MAX), and wall time
# is the epoch plus virtual time: virtual time stops short of KTIME_MAX by the epoch.
TIME_MAX_NS = 2**63 - 1 - EPOCH_NS


def wall_seconds(clock) -> int:
    """The guest's wall time in whole seconds since the epoch (file and IPC times, time())."""
    return (clock.now + EPOCH_NS) // 10**9


def sys_uname(k, p, buf: int) -> int:
    fields = [b'Linux', b'ukern', b'6.1.0-ukern', b'#1 ukern', b'x86_64', b'(none)']
    k.user(p).write(buf, b''.join(f.ljust(UTSNAME_FIELD, b'\0') for f in fields))
    return 0


def _timespec(ns: int) -> bytes:
    return struct.pack('<qq', ns // 10**9, ns % 10**9)


def sys_clock_gettime(k, p, clock: int, tp: int) -> int:
    if clock < 0 or clock > 11:
        return -Errno.EINVAL
    now = k.machine.clock.now
    k.user(p).write(tp, _timespec(now + EPOCH_NS if clock == CLOCK_REALTIME else now))
    return 0


def sys_clock_getres(k, p, clock: int, tp: int) -> int:
    if tp:
        k.user(p).write(tp, _timespec(1))
    return 0


def sys_gettimeofday(k, p, tv: int, tz: int) -> int:
    ns = k.machine.clock.now + EPOCH_NS
    if tv:
        k.user(p).write(tv, struct.pack('<qq', ns // 10**9, (ns % 10**9) // 1000))
    return 0


def sys_time(k, p, tloc: int) -> int:
    """Seconds since the epoch, also stored at tloc when it is not NULL."""
    seconds = wall_seconds(k.machine.clock)
    if tloc:
        k.user(p).write(tloc, struct.pack('<q', seconds))
    return seconds


def sys_nanosleep(k, p, req: int, rem: int):
    sec, nsec = struct.unpack('<qq', k.user(p).read(req, 16))
    if sec < 0 or not 0 <= nsec < 10**9:
        return -Errno.EINVAL
    return (yield from _sleep_until(k, p, k.clock.after(sec * 10**9 + nsec), rem))


def _sleep_until(k, p, until: int, rem: int):
    """Sleep to the virtual time `until`.  Cut short by a signal, the call writes the time
    left into `rem` and ends with ERESTART_RESTARTBLOCK: EINTR if a handler runs, else
    restart_syscall carries on to the same end (kernel/proc/restart.py)."""
    try:
        while k.clock.now < until:
            yield Sleep(until)
    except Interrupted:
        if rem:
            k.user(p).write(rem, _timespec(max(0, until - k.clock.now)))
        p.restart_block = lambda: _sleep_until(k, p, until, rem)
        return -Restart.ERESTART_RESTARTBLOCK
    return 0


def sys_clock_nanosleep(k, p, clock: int, flags: int, req: int, rem: int):
    sec, nsec = struct.unpack('<qq', k.user(p).read(req, 16))
    if sec < 0 or not 0 <= nsec < 10**9:
        return -Errno.EINVAL
    ns = sec * 10**9 + nsec
    if not flags & TIMER_ABSTIME:
        return (yield from _sleep_until(k, p, k.clock.after(ns), rem))
    until = k.clock.clamp(ns - (EPOCH_NS if clock == CLOCK_REALTIME else 0))
    try:
        while k.clock.now < until:
            yield Sleep(until)
    except Interrupted:
        return -Restart.ERESTARTNOHAND     # the same absolute time again, unless a handler ran
    return 0


def sys_getrandom(k, p, buf: int, count: int, flags: int) -> int:
    count = min(count, 1 << 20)
    k.user(p).write(buf, k.random.randbytes(count))
    return count
