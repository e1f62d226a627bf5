"""The virtual clock: deterministic time for the whole machine.

Time is in nanoseconds and only moves when the machine says so: by instructions the CPU
retired (one instruction = one nanosecond, a 1 GHz CPU with IPC 1), by the modelled cost of
kernel work, or by jumping to the next timed event when every process is blocked.  Devices
schedule their completions here; wall-clock time never leaks in, so a run repeats exactly.
"""

import heapq
import itertools
from typing import Callable

NS_PER_INSTRUCTION = 1


class Clock:
    def __init__(self):
        self.now = 0
        # The latest time any deadline may name: the kernel lowers it so that every reading
        # fits its time types.  A longer timeout ends there, as Linux clamps one to KTIME_MAX.
        self.limit = 2**63 - 1
        self.instructions = 0
        self._events: list[tuple[int, int, Callable[[], None]]] = []
        self._seq = itertools.count()   # ties fire in the order they were scheduled
        self._cancelled: set[int] = set()

    def schedule(self, at: int, callback: Callable[[], None]) -> int:
        seq = next(self._seq)
        if at > self.limit:
            return seq                  # past the end of time: it never happens
        heapq.heappush(self._events, (max(at, self.now), seq, callback))
        return seq

    def after(self, ns: int) -> int:
        """The deadline `ns` from now, clamped to the clock's limit."""
        return min(self.now + ns, self.limit)

    def clamp(self, t: int) -> int:
        """An absolute deadline, clamped to the clock's limit."""
        return min(t, self.limit)

    def schedule_in(self, delay: int, callback: Callable[[], None]) -> int:
        return self.schedule(self.now + delay, callback)

    def cancel(self, handle: int) -> None:
        self._cancelled.add(handle)

    def next_event(self) -> int | None:
        while self._events and self._events[0][1] in self._cancelled:
            self._cancelled.discard(heapq.heappop(self._events)[1])
        return self._events[0][0] if self._events else None

    def retire(self, instructions: int) -> None:
        self.instructions += instructions
        self.now += instructions * NS_PER_INSTRUCTION

    def spend(self, ns: int) -> None:
        """Charge modelled kernel or device time."""
        self.now += ns

    def advance_to(self, t: int) -> None:
        self.now = max(self.now, t)

    def fire_due(self) -> int:
        """Run every event whose time has come; returns how many fired."""
        fired = 0
        while True:
            t = self.next_event()
            if t is None or t > self.now:
                return fired
            _, seq, callback = heapq.heappop(self._events)
            callback()
            fired += 1
