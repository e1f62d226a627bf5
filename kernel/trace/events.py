"""The kernel's event stream: one place where everything worth tracing is announced.

The kernel calls `emit` (or `note`, which stamps the event with the clock's time) only
behind `if tracer.enabled:`, so with nobody listening a run pays one attribute test per
event site and builds nothing.  Subsystems are handed the tracer, not the kernel.
Listeners (the strace view, the fault view, the Chrome-trace writer of the tracing issue,
tests) subscribe here.
"""

from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Event:
    """One event of the kernel's trace stream (kernel/trace/events.py)."""
    kind: str              # 'syscall', 'fault', 'switch', 'exit', 'kill', ...
    time: int              # virtual ns
    instructions: int      # retired instructions so far
    pid: int
    args: dict = field(default_factory=dict)


class Tracer:
    def __init__(self, clock):
        self._listeners: list[Callable[[Event], None]] = []
        self.enabled = False
        self.clock = clock          # what note() stamps its events with

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        self._listeners.append(listener)
        self.enabled = True

    def emit(self, kind: str, time: int, instructions: int, pid: int, **args) -> None:
        event = Event(kind, time, instructions, pid, args)
        for listener in self._listeners:
            listener(event)

    def note(self, kind: str, pid: int, **args) -> None:
        """emit, at the clock's time and instruction count now."""
        self.emit(kind, self.clock.now, self.clock.instructions, pid, **args)
