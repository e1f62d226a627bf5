"""Open files and descriptor tables.

A File is what a descriptor points to (Linux's struct file): it has an offset, flags and
operations.  Operations that may wait are generators (see proc/wait.py).  Descriptor
tables map small integers to Files; several descriptors and several processes may share
one File.  Every File can say which of the poll events it has now (`poll_events`) and
which WaitQueues a change of those events wakes (`poll_queues`); poll, select and epoll
are built on these two (sys/poll.py, fs/epoll.py).
"""

import enum

from ..errno import Errno

O_ACCMODE = 3
O_RDONLY, O_WRONLY, O_RDWR = 0, 1, 2
O_APPEND = 0o2000
O_NONBLOCK = 0o4000
O_CLOEXEC = 0o2000000
MAX_FDS = 256


class PollEvents(enum.IntFlag):
    """poll(2) event bits (asm-generic/poll.h); epoll's EPOLLIN... have the same values."""
    POLLIN = 0x1
    POLLPRI = 0x2
    POLLOUT = 0x4
    POLLERR = 0x8
    POLLHUP = 0x10
    POLLNVAL = 0x20
    POLLRDNORM = 0x40
    POLLRDBAND = 0x80
    POLLWRNORM = 0x100
    POLLWRBAND = 0x200
    POLLRDHUP = 0x2000


READABLE = PollEvents.POLLIN | PollEvents.POLLRDNORM
WRITABLE = PollEvents.POLLOUT | PollEvents.POLLWRNORM


class File:
    """Base class: every operation is refused until a subclass provides it."""
    is_tty = False
    pollable = False     # has WaitQueues for its readiness: may join an epoll interest set
    flock_table = None   # fifo.FlockTable: the flock(2) lock this open file holds, if any

    def __init__(self, flags: int = O_RDWR):
        self.flags = flags
        self.offset = 0
        self.refs = 0
        self.watched_by: list = []        # epoll instances with this file in their interest set

    @property
    def nonblocking(self) -> bool:
        return bool(self.flags & O_NONBLOCK)

    def poll_events(self) -> int:
        """The poll events true now.  Files whose operations never wait (regular files,
        directories, /dev/null, /proc) are always readable and writable, as Linux's
        DEFAULT_POLLMASK."""
        return int(READABLE | WRITABLE)

    def poll_queues(self) -> list:
        """The WaitQueues woken when poll_events() may have changed."""
        return []

    def read(self, n: int):
        return -Errno.EINVAL
        yield

    def write(self, data: bytes):
        return -Errno.EINVAL
        yield

    def read_into(self, user, va: int, n: int):
        """read(2): up to n bytes into user memory at va; the count or -errno.  Files
        whose bytes already sit in physical memory (the buffer cache) copy them there
        directly; the rest go through read()'s bytes."""
        data = yield from self.read(n)
        if isinstance(data, int):
            return data
        user.write(va, data)
        return len(data)

    def close(self) -> None:
        pass


def release(file: File) -> None:
    """The last reference to `file` is gone: close it and take it out of every epoll
    interest set that holds it (as Linux's eventpoll_release at the final fput)."""
    file.close()
    if file.flock_table is not None:
        file.flock_table.unlock(file)
    for ep in list(getattr(file, 'watched_by', ())):
        ep.forget(file)


class ConsoleFile(File):
    """/dev/console: the console driver behind a descriptor."""
    pollable = True

    def __init__(self, driver, flags: int = O_RDWR):
        super().__init__(flags)
        self.driver = driver
        self.is_tty = driver.is_tty

    def read(self, n: int):
        return (yield from self.driver.read(n, self.nonblocking))

    def poll_events(self) -> int:
        return self.driver.poll_events()

    def poll_queues(self) -> list:
        return self.driver.poll_queues()

    def bytes_available(self) -> int:
        return len(self.driver.ready)

    def write(self, data: bytes):
        return self.driver.write(data)
        yield


class HostStreamFile(File):
    """A write-only descriptor whose bytes go straight to a stream of the host: the first
    program's standard error when `ukern run`'s own stderr is not where its stdout goes,
    so that a program's errors stay apart from its output (qemu-user does the same).  It
    is no terminal, so no line discipline applies; to the guest it looks like a pipe."""

    def __init__(self, sink, flags: int = O_WRONLY):
        super().__init__(flags)
        self.sink = sink

    def write(self, data: bytes):
        self.sink(bytes(data))
        return len(data)
        yield

    def stat(self):
        from .fsys import make_stat
        return make_stat(0, S_IFIFO | 0o600)
        yield


S_IFIFO = 0o010000


class FdTable:
    def __init__(self):
        self.fds: dict[int, tuple[File, bool]] = {}   # fd -> (file, close-on-exec)
        self.limit = MAX_FDS          # RLIMIT_NOFILE: no new descriptor at or above it

    def get(self, fd: int) -> File | None:
        entry = self.fds.get(fd)
        return entry[0] if entry else None

    def install(self, file: File, lowest: int = 0, cloexec: bool = False) -> int:
        for fd in range(lowest, min(self.limit, MAX_FDS)):
            if fd not in self.fds:
                self.put(fd, file, cloexec)
                return fd
        return -Errno.EMFILE

    def put(self, fd: int, file: File, cloexec: bool = False) -> None:
        self.close(fd)
        file.refs += 1
        self.fds[fd] = (file, cloexec)

    def cloexec(self, fd: int) -> bool:
        return self.fds[fd][1]

    def set_cloexec(self, fd: int, on: bool) -> None:
        self.fds[fd] = (self.fds[fd][0], on)

    def close(self, fd: int) -> bool:
        entry = self.fds.pop(fd, None)
        if entry is None:
            return False
        file = entry[0]
        file.refs -= 1
        if file.refs == 0:
            release(file)
        return True

    def close_on_exec(self) -> None:
        for fd, (_, cloexec) in list(self.fds.items()):
            if cloexec:
                self.close(fd)

    def close_all(self) -> None:
        for fd in list(self.fds):
            self.close(fd)

    def fork(self) -> 'FdTable':
        t = FdTable()
        for fd, (file, cloexec) in self.fds.items():
            t.put(fd, file, cloexec)
        return t
