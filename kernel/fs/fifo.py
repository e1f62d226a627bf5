"""Named pipes (FIFOs) and flock(2) locks: state the VFS keeps per open inode.

A FIFO is an inode of type S_IFIFO in ext2; opening it gives an end of one Pipe (pipe.py)
shared by everyone who has that inode open, and dropped when the last of them closes.
Opening for reading waits for a writer and opening for writing waits for a reader, unless
O_NONBLOCK (then a writer with no reader gets ENXIO), as Linux does.

flock locks belong to an open file (the File object, shared by dup and fork), not to a
process: LOCK_SH may be held by many open files of an inode, LOCK_EX by one alone.  They
are advisory: only flock itself looks at them.
"""

from ..errno import Errno
from ..proc.wait import WaitQueue
from .file import File, O_RDWR
from .pipe import Pipe, PipeReader, PipeWriter

LOCK_SH, LOCK_EX, LOCK_NB, LOCK_UN = 1, 2, 4, 8


class Fifo:
    def __init__(self, wake, forget):
        self.pipe = Pipe(wake)
        self.wake = wake
        self.forget = forget                # called when the last end closes
        self.users = 0
        self.reader_opens = 0               # counts, so a writer that came and went still
        self.writer_opens = 0               # ends a reader's wait for one
        self.opened = WaitQueue('fifo open', interruptible=True)

    def arrived(self, reading: bool, writing: bool) -> None:
        self.users += 1
        self.reader_opens += reading
        self.writer_opens += writing
        self.opened.wake_all(self.wake)

    def left(self) -> None:
        self.users -= 1
        if self.users == 0:
            self.forget()


class FifoReader(PipeReader):
    def __init__(self, fifo: Fifo, flags: int):
        super().__init__(fifo.pipe, flags)
        self.fifo = fifo
        fifo.arrived(True, False)

    def close(self) -> None:
        super().close()
        self.fifo.left()


class FifoWriter(PipeWriter):
    def __init__(self, fifo: Fifo, flags: int):
        super().__init__(fifo.pipe, flags)
        self.fifo = fifo
        fifo.arrived(False, True)

    def close(self) -> None:
        super().close()
        self.fifo.left()


class FifoReadWrite(File):
    """O_RDWR on a FIFO (Linux allows it and never waits): both ends in one file."""

    def __init__(self, fifo: Fifo, flags: int):
        super().__init__(flags & ~3 | O_RDWR)
        self.fifo = fifo
        self.reader = PipeReader(fifo.pipe, flags)
        self.writer = PipeWriter(fifo.pipe, flags)
        fifo.arrived(True, True)

    def read(self, n: int):
        return (yield from self.reader.read(n))

    def write(self, data: bytes):
        return (yield from self.writer.write(data))

    def close(self) -> None:
        self.reader.close()
        self.writer.close()
        self.fifo.left()


def wait_for_partner(fifo: Fifo, end: File, reading: bool):
    """Wait until the other side has opened (a generator); closes `end` if interrupted."""
    seen = fifo.writer_opens if reading else fifo.reader_opens
    done = False
    try:
        while True:
            pipe = fifo.pipe
            others = pipe.writers if reading else pipe.readers
            opens = fifo.writer_opens if reading else fifo.reader_opens
            if others or opens != seen:
                break
            yield fifo.opened
        done = True
    finally:
        if not done:
            end.close()
    return end


class FlockTable:
    """The flock holders of one file: open file -> LOCK_SH or LOCK_EX.  A holder names
    the table in its `flock_table`, so that its last close unlocks (file.release)."""

    def __init__(self, wake, forget):
        self.holders: dict[File, int] = {}
        self.changed = WaitQueue('flock', interruptible=True)
        self.wake = wake
        self.forget = forget                # called when no one holds or waits any more
        self.waiting = 0

    def conflicts(self, f: File, kind: int) -> bool:
        return any(other is not f and LOCK_EX in (kind, held) for other, held in self.holders.items())

    def lock(self, f: File, op: int):
        """flock(2) on this file through open file f (a generator); 0 or -errno."""
        kind = op & ~LOCK_NB
        if kind == LOCK_UN:
            self.unlock(f)
            self._forget_if_unused()
            return 0
        if kind not in (LOCK_SH, LOCK_EX):
            return -Errno.EINVAL
        if self.holders.get(f) == kind:
            return 0
        self.waiting += 1                   # (so an unlock meanwhile keeps the table)
        try:
            if f in self.holders:           # a conversion drops the old lock first, as Linux does
                self.unlock(f)
            while self.conflicts(f, kind):
                if op & LOCK_NB:
                    return -Errno.EAGAIN      # EWOULDBLOCK
                yield self.changed
            self.holders[f] = kind
            f.flock_table = self
            return 0
        finally:
            self.waiting -= 1
            self._forget_if_unused()

    def unlock(self, f: File) -> None:
        if self.holders.pop(f, None) is not None:
            f.flock_table = None
            self.changed.wake_all(self.wake)
            self._forget_if_unused()

    def _forget_if_unused(self) -> None:
        if not self.holders and not self.waiting:
            self.forget()
