"""Interval timers: ITIMER_REAL (setitimer, alarm) on the machine's virtual clock.

The timer is one clock event: when it fires, SIGALRM goes to the process and, if the timer
has an interval, the next expiry is scheduled one interval later (expiries the process
could not see, because the signal was still pending, coalesce as on Linux).  The state is
process-wide (ITimers, shared by the threads of a process), kept across exec and new at
fork.  ITIMER_VIRTUAL and ITIMER_PROF would count the process's CPU time, which ukern does
not account per process: they read back as disarmed and never fire.
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
class ITimers:
    """A process's interval timers."""
    real: RealTimer = field(default_factory=RealTimer)


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
        t.expires = k.clock.now + value
        t.event = k.clock.schedule(t.expires, lambda: _expire(k, p, t))
        k.yield_cpu(p)        # end an uncounted slice: from now on the clock must count


def disarm_all(k, p) -> None:
    """The process is gone: no event may keep the machine waiting for it."""
    _cancel(k, p.itimers.real)


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
