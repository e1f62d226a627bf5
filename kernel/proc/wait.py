"""Wait queues: how a system call waits for an event without sleeping in Python.

A blocking system call is a generator: it yields the WaitQueue (or Timer) it waits on, the
kernel marks the process BLOCKED and runs someone else, and `wake_all` makes the waiters
runnable again; the kernel then resumes the generator where it stopped (xv6's sleep and
wakeup, with the generator frame as the kernel stack).
"""

from dataclasses import dataclass


class WaitQueue:
    def __init__(self, name: str, interruptible: bool = False):
        self.name = name
        self.waiters: list = []
        # May a signal end the wait early (console, pipes, wait4, sleep)?  Disk waits may
        # not: a file-system update half done must finish.
        self.interruptible = interruptible

    def add(self, proc) -> None:
        self.waiters.append(proc)

    def discard(self, proc) -> None:
        if proc in self.waiters:
            self.waiters.remove(proc)

    def wake_all(self, wake) -> None:
        """`wake` is the kernel's make-runnable function."""
        waiters, self.waiters = self.waiters, []
        for p in waiters:
            wake(p)

    def __repr__(self) -> str:
        return f'<wait {self.name}>'


@dataclass
class Sleep:
    """Yielded by a system call that waits until a virtual time (nanosleep)."""
    until: int
    interruptible = True
