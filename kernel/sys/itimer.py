"""Interval timer system calls: alarm, setitimer, getitimer (kernel/proc/itimer.py)."""

import ctypes

from ..errno import Errno
from ..proc import itimer

ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF = 0, 1, 2
NS_PER_US, US_PER_S = 1000, 10**6
ALARM_MAX = 0x7FFF_FFFF          # alarm's seconds are clamped to INT_MAX


class ITimerVal(ctypes.LittleEndianStructure):
    """struct itimerval: two struct timeval (include/uapi/linux/time.h)."""
    _pack_ = 1
    _fields_ = [('interval_sec', ctypes.c_int64), ('interval_usec', ctypes.c_int64),
                ('value_sec', ctypes.c_int64), ('value_usec', ctypes.c_int64)]


assert ctypes.sizeof(ITimerVal) == 32


def _to_ns(sec: int, usec: int) -> int | None:
    if sec < 0 or not 0 <= usec < US_PER_S:
        return None
    return (sec * US_PER_S + usec) * NS_PER_US


def _current(k, p, which: int) -> ITimerVal:
    if which == ITIMER_REAL:
        value, interval = itimer.get_real(k, p)
    else:
        value, interval = itimer.get_cpu(p, prof=which == ITIMER_PROF)
    v_us, i_us = value // NS_PER_US, interval // NS_PER_US
    return ITimerVal(interval_sec=i_us // US_PER_S, interval_usec=i_us % US_PER_S,
                     value_sec=v_us // US_PER_S, value_usec=v_us % US_PER_S)


def sys_getitimer(k, p, which: int, curr: int) -> int:
    if which not in (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF):
        return -Errno.EINVAL
    k.user(p).write(curr, bytes(_current(k, p, which)))
    return 0


def sys_setitimer(k, p, which: int, new: int, old: int) -> int:
    if which not in (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF):
        return -Errno.EINVAL
    mem = k.user(p)
    want = ITimerVal.from_buffer_copy(mem.read(new, 32)) if new else ITimerVal()  # NULL disarms
    value = _to_ns(want.value_sec, want.value_usec)
    interval = _to_ns(want.interval_sec, want.interval_usec)
    if value is None or interval is None:
        return -Errno.EINVAL
    before = _current(k, p, which)
    if which == ITIMER_REAL:
        itimer.set_real(k, p, value, interval)
    else:
        itimer.set_cpu(k, p, which == ITIMER_PROF, value, interval)
    if old:
        mem.write(old, bytes(before))
    return 0


def sys_alarm(k, p, seconds: int) -> int:
    """Arm a one-shot ITIMER_REAL; the seconds that were left, rounded to the nearest
    (at least 1 if any time was left)."""
    left, _ = itimer.get_real(k, p)
    itimer.set_real(k, p, min(seconds & 0xFFFF_FFFF, ALARM_MAX) * 10**9, 0)
    left_us = left // NS_PER_US
    secs, usecs = divmod(left_us, US_PER_S)
    if (not secs and usecs) or usecs >= US_PER_S // 2:
        secs += 1
    return secs
