"""Open files and descriptor tables.

A File is what a descriptor points to (Linux's struct file): it has an offset, flags and
operations.  Operations that may wait are generators (see proc/wait.py).  Descriptor
tables map small integers to Files; several descriptors and several processes may share
one File.
"""

from ..errno import Errno

O_ACCMODE = 3
O_RDONLY, O_WRONLY, O_RDWR = 0, 1, 2
O_APPEND = 0o2000
O_CLOEXEC = 0o2000000
MAX_FDS = 256


class File:
    """Base class: every operation is refused until a subclass provides it."""
    is_tty = False

    def __init__(self, flags: int = O_RDWR):
        self.flags = flags
        self.offset = 0
        self.refs = 0

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


class ConsoleFile(File):
    """/dev/console: the console driver behind a descriptor."""

    def __init__(self, driver, flags: int = O_RDWR):
        super().__init__(flags)
        self.driver = driver
        self.is_tty = driver.is_tty

    def read(self, n: int):
        return (yield from self.driver.read(n))

    def write(self, data: bytes):
        return self.driver.write(data)
        yield


class FdTable:
    def __init__(self):
        self.fds: dict[int, tuple[File, bool]] = {}   # fd -> (file, close-on-exec)

    def get(self, fd: int) -> File | None:
        entry = self.fds.get(fd)
        return entry[0] if entry else None

    def install(self, file: File, lowest: int = 0, cloexec: bool = False) -> int:
        for fd in range(lowest, MAX_FDS):
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
            file.close()
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
