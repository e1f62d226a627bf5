"""Interval timers: ITIMER_REAL (setitimer, alarm) on the machine's virtual clock, and
ITIMER_VIRTUAL and ITIMER_PROF on the process's CPU time.

The timer is one clock event: when it fires, SIGALRM goes to the process and, if the timer
has an interval, the next expiry is scheduled one interval later (expiries the process
could not see, because the signal was still pending, coalesce as on Linux).  The state is
process-wide (ITimers, shared by the threads of a process), kept across exec and new at
fork.

ITIMER_VIRTUAL counts the process's user time (p.usage.utime, all its threads together),
ITIMER_PROF its user and system time; both are virtual time, charged as slices end and as
calls and faults are made.  Such a timer is a CPU-time value to reach rather than a clock
event: it is checked when a slice ends (`charge`), and while one is armed a slice is
counted and lasts no longer than the CPU time left (`slice_budget`), so it fires on time
even for a program that never enters the kernel.  SIGVTALRM or SIGPROF then goes to the
process.
"""

from dataclasses import dataclass, field

from ..trap import Signal


@dataclass
class RealTimer:
    """ITIMER_REAL: when it fires next and how often."""
    expires: int = 0              # virtual ns; 0: disarmed
    interval: int = 0             # ns; 0: one shot
    event: int | None = None      # the clock event that fires it


@dataclass
class CpuTimer:
    expires: int = 0              # the CPU time (ns) at which it fires; 0: disarmed
    interval: int = 0             # ns of CPU time; 0: one shot


@dataclass
class ITimers:
    """A process's interval timers."""
    real: RealTimer = field(default_factory=RealTimer)
    virtual: CpuTimer = field(default_factory=CpuTimer)    # user time: SIGVTALRM
    prof: CpuTimer = field(default_factory=CpuTimer)       # user + system time: SIGPROF


def _cpu_timers(p):
    """(timer, the CPU time it counts, its signal) for ITIMER_VIRTUAL and ITIMER_PROF."""
    u = p.usage
    return ((p.itimers.virtual, u.utime, Signal.SIGVTALRM),
            (p.itimers.prof, u.utime + u.stime, Signal.SIGPROF))


def cpu_timer(p, prof: bool) -> CpuTimer:
    return p.itimers.prof if prof else p.itimers.virtual


def get_cpu(p, prof: bool) -> tuple[int, int]:
    """(CPU time left, interval) in ns; an armed timer never shows 0 left."""
    t, used, _ = _cpu_timers(p)[prof]
    if not t.expires:
        return 0, t.interval
    return max(t.expires - used, 1), t.interval


def set_cpu(k, p, prof: bool, value: int, interval: int) -> None:
    """Arm ITIMER_PROF (prof) or ITIMER_VIRTUAL to fire after `value` ns more of the
    process's CPU time (0 disarms it), then every `interval` ns of it."""
    t, used, _ = _cpu_timers(p)[prof]
    t.interval = interval if value else 0
    t.expires = used + value if value else 0
    if value:
        k.yield_cpu(p)        # end an uncounted slice: from now on the slice must count


def slice_budget(p) -> int | None:
    """The CPU time until p's process's first armed CPU timer fires (None: none armed)."""
    left = [t.expires - used for t, used, _ in _cpu_timers(p) if t.expires]
    return max(1, min(left)) if left else None


def charge(k, p) -> None:
    """A slice of p ended: send the signal of each CPU timer its time has reached."""
    from . import lifecycle, signal as sig
    for t, used, signal in _cpu_timers(p):
        if not t.expires or used < t.expires:
            continue
        if t.interval:
            while t.expires <= used:
                t.expires += t.interval
        else:
            t.expires = 0
        lifecycle.send(k, p, signal, sig.PendingSignal(signal, sig.SI_KERNEL))


def get_real(k, p) -> tuple[int, int]:
    """(time left, interval) in ns; an armed timer never shows 0 left."""
    t = p.itimers.real
    if not t.expires:
        return 0, t.interval
    return max(t.expires - k.clock.now, 1), t.interval


def set_real(k, p, value: int, interval: int) -> None:
    """Arm ITIMER_REAL to fire `value` ns from now (0 disarms it), then every `interval` ns."""
    t = p.itimers.real
    _cancel(k, t)
    t.interval = interval if value else 0
    if value:
        t.expires = k.clock.after(value)
        t.event = k.clock.schedule(t.expires, lambda: _expire(k, p, t))
        k.yield_cpu(p)        # end an uncounted slice: from now on the clock must count


def disarm_all(k, p) -> None:
    """The process is gone: no event may keep the machine waiting for it."""
    _cancel(k, p.itimers.real)
    p.itimers.virtual.expires = p.itimers.prof.expires = 0


def _cancel(k, t: RealTimer) -> None:
    if t.event is not None:
        k.clock.cancel(t.event)
    t.event, t.expires = None, 0


def _expire(k, p, t: RealTimer) -> None:
    from . import lifecycle, signal as sig
    t.event = None
    if t.interval:
        t.expires += t.interval
        while t.expires <= k.clock.now:
            t.expires += t.interval
        t.event = k.clock.schedule(t.expires, lambda: _expire(k, p, t))
    else:
        t.expires = 0
    lifecycle.send(k, p, Signal.SIGALRM, sig.PendingSignal(Signal.SIGALRM, sig.SI_KERNEL))
