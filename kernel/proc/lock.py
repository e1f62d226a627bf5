"""A sleep lock: mutual exclusion across yields, for kernel code written as generators.

Kernel routines that wait for the disk are generators (see wait.py), so two system calls
can interleave inside one file system at every `yield`.  A SleepLock serialises them
(xv6's sleeplock): `acquire()` is a generator that yields the lock's WaitQueue while
someone else holds it, and `release()` wakes every waiter; the first to run takes it, the
others find it held again and go back to sleep.

    yield from lock.acquire()
    try:
        result = yield from fs.write(ino, offset, data)
    finally:
        lock.release()

At boot, when no process runs, drive the same code with kernel.proc.wait.run_boot.
"""

from typing import Callable

from .wait import WaitQueue


class SleepLock:
    def __init__(self, wake: Callable, name: str = 'lock'):
        """`wake` is the kernel's make-runnable function (Kernel.wake)."""
        self.name = name
        self.wake = wake
        self.held = False
        self.queue = WaitQueue(f'lock {name}')
        self.acquisitions = 0
        self.contended = 0              # acquisitions that had to wait at least once

    def acquire(self):
        """Generator: returns once the caller holds the lock."""
        if self.held:
            self.contended += 1
        while self.held:
            yield self.queue
        self.held = True
        self.acquisitions += 1

    def try_acquire(self) -> bool:
        if self.held:
            return False
        self.held = True
        self.acquisitions += 1
        return True

    def release(self) -> None:
        if not self.held:
            raise RuntimeError(f'release of {self.name}, which is not held')
        self.held = False
        self.queue.wake_all(self.wake)

    def __repr__(self) -> str:
        return f'<SleepLock {self.name} {"held" if self.held else "free"}>'
