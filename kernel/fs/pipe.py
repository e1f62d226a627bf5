"""Pipes: a bounded buffer between a write end and a read end.

A reader waits while the pipe is empty and a writer exists; it gets end of file once the
last writer has closed.  A writer waits while the pipe is full; with no reader left the
write fails with EPIPE (the system call layer adds SIGPIPE).  Both waits are interruptible
by signals; a write cut short after some bytes went in returns that count, as on Linux.
"""

from ..errno import Errno
from ..proc.restart import Interrupted
from ..proc.wait import WaitQueue
from .file import File, O_RDONLY, O_WRONLY

PIPE_CAPACITY = 65536          # Linux's default pipe size


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


class PipeReader(File):
    def __init__(self, pipe: Pipe, flags: int):
        super().__init__(flags)
        self.pipe = pipe
        pipe.readers += 1

    def read(self, n: int):
        pipe = self.pipe
        while not pipe.buffer:
            if pipe.writers == 0 or n == 0:
                return b''
            yield pipe.can_read
        data = bytes(pipe.buffer[:n])
        del pipe.buffer[:n]
        pipe.can_write.wake_all(pipe.wake)
        return data

    def close(self) -> None:
        self.pipe.readers -= 1
        self.pipe.can_write.wake_all(self.pipe.wake)


class PipeWriter(File):
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
            room = PIPE_CAPACITY - len(pipe.buffer)
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

    def close(self) -> None:
        self.pipe.writers -= 1
        self.pipe.can_read.wake_all(self.pipe.wake)
