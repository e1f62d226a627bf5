"""eventfd: a 64-bit counter behind a descriptor, for one side to wake another.

write(2) adds an 8-byte value to the counter (waiting while it would pass 2^64 - 2);
read(2) waits while the counter is 0, then returns it and resets it to 0, or with
EFD_SEMAPHORE returns 1 and takes 1 off.  Transfers are exactly 8 bytes (fewer: EINVAL).
Readable when the counter is above 0, writable while 1 more still fits; every change
wakes the one queue that readers, writers and pollers wait on.
"""

import enum
import struct

from ..errno import Errno
from ..proc.wait import WaitQueue
from .file import File, O_RDWR, O_NONBLOCK, O_CLOEXEC, READABLE, WRITABLE

COUNTER_MAX = (1 << 64) - 2          # the largest value the counter may hold
U64 = struct.Struct('<Q')


class EfdFlag(enum.IntFlag):
    """eventfd2 flags (linux/eventfd.h)."""
    EFD_SEMAPHORE = 1
    EFD_NONBLOCK = O_NONBLOCK
    EFD_CLOEXEC = O_CLOEXEC


class EventFd(File):
    pollable = True

    def __init__(self, wake, initval: int, flags: int):
        super().__init__(O_RDWR | (flags & O_NONBLOCK))
        self.wake = wake
        self.counter = initval
        self.semaphore = bool(flags & EfdFlag.EFD_SEMAPHORE)
        self.changed = WaitQueue('eventfd', interruptible=True)

    def read(self, n: int):
        if n < U64.size:
            return -Errno.EINVAL
        while self.counter == 0:
            if self.nonblocking:
                return -Errno.EAGAIN
            yield self.changed
        value = 1 if self.semaphore else self.counter
        self.counter -= value
        self.changed.wake_all(self.wake)
        return U64.pack(value)

    def write(self, data: bytes):
        if len(data) < U64.size:
            return -Errno.EINVAL
        value, = U64.unpack_from(data)
        if value > COUNTER_MAX:
            return -Errno.EINVAL
        while self.counter + value > COUNTER_MAX:
            if self.nonblocking:
                return -Errno.EAGAIN
            yield self.changed
        self.counter += value
        if value:
            self.changed.wake_all(self.wake)
        return U64.size

    def poll_events(self) -> int:
        events = READABLE if self.counter > 0 else 0
        if self.counter < COUNTER_MAX:
            events |= WRITABLE
        return int(events)

    def poll_queues(self) -> list:
        return [self.changed]
