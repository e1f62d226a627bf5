"""Pipes: a bounded buffer between a write end and a read end.

A reader waits while the pipe is empty and a writer exists; it gets end of file once the
last writer has closed.  A writer waits while the pipe is full; with no reader left the
write fails with EPIPE (the system call layer adds SIGPIPE).  Both waits are interruptible
by signals.  With O_NONBLOCK on the end, a read of an empty pipe and a write to a full one
fail with EAGAIN instead of waiting (a write of at most PIPE_BUF bytes goes in whole or not
at all, as POSIX asks).  For poll: the read end is readable when bytes wait, POLLHUP once
every writer is gone; the write end is writable when PIPE_BUF bytes fit, POLLERR once
every reader is gone;
a write cut short by a signal after some bytes went in returns that count, as on Linux.
"""

from ..errno import Errno
from ..proc.restart import Interrupted
from ..proc.wait import WaitQueue
from .file import File, O_RDONLY, O_WRONLY, PollEvents, READABLE, WRITABLE

PIPE_CAPACITY = 65536          # Linux's default pipe size
PIPE_BUF = 4096                # writes up to this size are atomic (limits.h)


class Pipe:
    def __init__(self, wake):
        self.wake = wake
        self.buffer = bytearray()
        self.readers = 0
        self.writers = 0
        self.can_read = WaitQueue('pipe read', interruptible=True)
        self.can_write = WaitQueue('pipe write', interruptible=True)

    def ends(self, flags: int = 0) -> tuple['PipeReader', 'PipeWriter']:
        return PipeReader(self, O_RDONLY | flags), PipeWriter(self, O_WRONLY | flags)

    def room(self) -> int:
        return PIPE_CAPACITY - len(self.buffer)


class PipeReader(File):
    pollable = True

    def __init__(self, pipe: Pipe, flags: int):
        super().__init__(flags)
        self.pipe = pipe
        pipe.readers += 1

    def read(self, n: int):
        pipe = self.pipe
        while not pipe.buffer:
            if pipe.writers == 0 or n == 0:
                return b''
            if self.nonblocking:
                return -Errno.EAGAIN
            yield pipe.can_read
        data = bytes(pipe.buffer[:n])
        del pipe.buffer[:n]
        pipe.can_write.wake_all(pipe.wake)
        return data

    def poll_events(self) -> int:
        events = READABLE if self.pipe.buffer else 0
        if self.pipe.writers == 0:
            events |= PollEvents.POLLHUP
        return int(events)

    def poll_queues(self) -> list:
        return [self.pipe.can_read]

    def bytes_available(self) -> int:
        return len(self.pipe.buffer)

    def close(self) -> None:
        self.pipe.readers -= 1
        self.pipe.can_write.wake_all(self.pipe.wake)


class PipeWriter(File):
    pollable = True

    def __init__(self, pipe: Pipe, flags: int):
        super().__init__(flags)
        self.pipe = pipe
        pipe.writers += 1

    def write(self, data: bytes):
        pipe = self.pipe
        done = 0
        while done < len(data):
            if pipe.readers == 0:
                return done or -Errno.EPIPE
            room = pipe.room()
            if self.nonblocking and (room == 0 or (len(data) <= PIPE_BUF and room < len(data))):
                return done or -Errno.EAGAIN
            if room == 0:
                try:
                    yield pipe.can_write
                except Interrupted:
                    if done:
                        return done
                    raise
                continue
            pipe.buffer += data[done:done + room]
            done += min(room, len(data) - done)
            pipe.can_read.wake_all(pipe.wake)
        return done

    def poll_events(self) -> int:
        events = WRITABLE if self.pipe.room() >= PIPE_BUF else 0
        if self.pipe.readers == 0:
            events |= PollEvents.POLLERR
        return int(events)

    def poll_queues(self) -> list:
        return [self.pipe.can_write]

    def bytes_available(self) -> int:
        return len(self.pipe.buffer)       # FIONREAD works on either end, as Linux's pipe_ioctl

    def close(self) -> None:
        self.pipe.writers -= 1
        self.pipe.can_read.wake_all(self.pipe.wake)
