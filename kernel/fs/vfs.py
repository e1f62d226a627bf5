"""The file layer between system calls and ext2: paths, open files, device files.

One ext2 file system is mounted at / (partition 1 of the boot disk).  Ext2 calls must not
interleave across a yield, so every call runs under the mount's sleep lock.  A device node
(a character or block special file in ext2) opens the driver that its major number names
in the device switch (xv6's devsw, Linux's file_operations; seed 002).
"""

import posixpath
import struct
from dataclasses import dataclass

from ..errno import Errno
from ..proc.lock import SleepLock
from .ext2 import Ext2, FsError
from .ext2_layout import InodeType, S_IFMT
from .file import File, O_ACCMODE, O_RDONLY, O_NONBLOCK
from .procfs import ProcFs

O_CREAT = 0o100
O_EXCL = 0o200
O_NOCTTY = 0o400
O_TRUNC = 0o1000
O_APPEND = 0o2000
O_DIRECT = 0o40000
O_DIRECTORY = 0o200000
O_NOFOLLOW = 0o400000
O_CLOEXEC = 0o2000000
PATH_MAX = 4096


@dataclass
class Cwd:
    ino: int
    path: str


class Vfs:
    def __init__(self, kernel, fs: Ext2, cache):
        self.kernel = kernel
        self.fs = fs
        self.cache = cache
        self.lock = SleepLock(kernel.wake, 'ext2')
        self.devsw: dict[tuple[str, int], object] = {}     # ('c'|'b', major) -> open(minor, flags)
        self.procfs = ProcFs(kernel)
        self.write_errors: dict[int, int] = {}            # inode -> an error fsync must report

    def call(self, gen):
        """Run one ext2 operation under the mount lock (a generator)."""
        yield from self.lock.acquire()
        try:
            return (yield from gen)
        finally:
            self.lock.release()

    # -- paths --------------------------------------------------------------------------
    def lookup(self, path: bytes, cwd: Cwd):
        return (yield from self.call(self.fs.lookup(path, cwd.ino)))

    def parent_and_name(self, path: bytes, cwd: Cwd):
        """(directory inode, last component) for creating or removing `path`."""
        path = path.rstrip(b'/') or b'/'
        head, _, name = path.rpartition(b'/')
        if not name or name in (b'.', b'..'):
            raise FsError(Errno.EINVAL if name else Errno.EEXIST)
        if not head and path.startswith(b'/'):
            head = b'/'
        dir_ino = cwd.ino if not head else (yield from self.lookup(head, cwd))
        return dir_ino, name

    # -- opening ------------------------------------------------------------------------
    def open(self, path: bytes, flags: int, mode: int, cwd: Cwd):
        """A File for path (a generator).  Raises FsError."""
        if not path:
            raise FsError(Errno.ENOENT)
        absolute = normalize(cwd, path)
        if ProcFs.owns(absolute):
            return self.procfs.open(absolute, flags)
        try:
            ino = yield from self.lookup(path, cwd)
            if flags & O_CREAT and flags & O_EXCL:
                raise FsError(Errno.EEXIST)
        except FsError as e:
            if e.errno != Errno.ENOENT or not flags & O_CREAT:
                raise
            dir_ino, name = yield from self.parent_and_name(path, cwd)
            ino = yield from self.call(self.fs.create(dir_ino, name, mode & 0o7777))
        st = yield from self.call(self.fs.stat(ino))
        kind = st.mode & S_IFMT
        if kind == InodeType.S_IFDIR:
            if flags & O_ACCMODE != O_RDONLY or flags & O_CREAT:
                raise FsError(Errno.EISDIR)
            return DirFile(self, ino, flags)
        if flags & O_DIRECTORY:
            raise FsError(Errno.ENOTDIR)
        if kind in (InodeType.S_IFCHR, InodeType.S_IFBLK):
            opener = self.devsw.get(('c' if kind == InodeType.S_IFCHR else 'b', st.rdev_major))
            device = opener(st.rdev_minor, flags) if opener is not None else None
            if device is None:
                raise FsError(Errno.ENXIO)      # no driver for this major (or minor)
            return device
        if kind != InodeType.S_IFREG:
            raise FsError(Errno.EACCES)
        if flags & O_TRUNC and flags & O_ACCMODE != O_RDONLY:
            yield from self.call(self.fs.truncate(ino, 0))
        return InodeFile(self, ino, flags)

    def stat(self, path: bytes, cwd: Cwd):
        """The Stat of a path (a generator); /proc included."""
        absolute = normalize(cwd, path)
        if ProcFs.owns(absolute):
            return (yield from self.procfs.open(absolute, O_RDONLY).stat())
        ino = yield from self.lookup(path, cwd)
        return (yield from self.call(self.fs.stat(ino)))

    def read_file(self, path: bytes, cwd: Cwd):
        """The whole content of a regular file (for exec)."""
        ino = yield from self.lookup(path, cwd)
        st = yield from self.call(self.fs.stat(ino))
        if st.mode & S_IFMT != InodeType.S_IFREG:
            raise FsError(Errno.EACCES)
        return (yield from self.call(self.fs.read(ino, 0, st.size)))

    def sync(self):
        yield from self.call(self.fs.sync())
        yield from self.cache.sync()

    def record_write_error(self, ino: int) -> None:
        """An asynchronous write to the file failed after its call returned."""
        self.write_errors[ino] = -Errno.EIO


READAHEAD_MIN = 4               # blocks read ahead when a file is first read sequentially
READAHEAD_MAX_BYTES = 4 << 20   # the window doubles while reading stays sequential, up to this


class InodeFile(File):
    """An open regular file, with its readahead state (Linux's file_ra_state)."""

    def __init__(self, vfs: Vfs, ino: int, flags: int):
        super().__init__(flags)
        self.vfs = vfs
        self.ino = ino
        self.ra_next = 0          # where a sequential reader reads next
        self.ra_window = 0        # blocks to read ahead; 0 once access turns random
        self.ra_end = 0           # the first block not yet read ahead

    def read(self, n: int):
        data = yield from self.pread(n, self.offset)
        self.offset += len(data)
        return data

    def pread(self, n: int, offset: int):
        data = yield from self.vfs.call(self.vfs.fs.read(self.ino, offset, n))
        yield from self._read_ahead(offset, len(data))
        return data

    def read_into(self, user, va: int, n: int):
        count = yield from self.pread_into(user, va, n, self.offset)
        self.offset += count
        return count

    def pread_into(self, user, va: int, n: int, offset: int):
        """The bytes go from the cache's frames to the user's, one memmove per run of
        contiguous memory on both sides; the buffers stay held meanwhile."""
        segments, count = yield from self.vfs.call(self._hold(offset, n))
        try:
            user.write_from_phys(va, segments)
        finally:
            self.vfs.cache.release(segments.held)
        yield from self._read_ahead(offset, count)
        return count

    def _hold(self, offset: int, n: int):
        runs, skip, count = yield from self.vfs.fs.read_runs(self.ino, offset, n)
        segments = yield from self.vfs.cache.hold_runs(runs)
        return segments.window(skip, count), count

    def _read_ahead(self, offset: int, n: int):
        """Sequential reading: keep up to a window of blocks read ahead of the reader, and
        do not wait for them.  The window starts at twice the read and doubles while the
        reads stay sequential; a new window is read in one go (one request, one DMA)
        when less than a window is left ahead of the reader, so read-ahead I/O comes in
        large pieces whatever the size of the reads (Linux's asynchronous readahead)."""
        sequential = offset == self.ra_next and n > 0
        self.ra_next = offset + n
        if not sequential:
            self.ra_window, self.ra_end = 0, 0
            return
        bs = self.vfs.fs.block_size
        cache = self.vfs.cache
        largest = max(READAHEAD_MIN, min(READAHEAD_MAX_BYTES // bs, cache.max_blocks // 4))
        self.ra_window = min(largest, max(READAHEAD_MIN, 2 * self.ra_window, 2 * (-(-n // bs))))
        reader = (offset + n + bs - 1) // bs
        if self.ra_end - reader >= self.ra_window:
            return                                  # enough is on its way already
        first = max(self.ra_end, reader)
        runs = yield from self.vfs.call(self.vfs.fs.file_runs(self.ino, first, self.ra_window))
        cache.prefetch_runs(runs, readahead=True)
        self.ra_end = first + self.ra_window

    def write(self, data: bytes):
        if self.flags & O_APPEND:
            self.offset = (yield from self.stat()).size
        n = yield from self.pwrite(data, self.offset)
        self.offset += n
        return n

    def pwrite(self, data: bytes, offset: int):
        return (yield from self.vfs.call(self.vfs.fs.write(self.ino, offset, data)))

    def stat(self):
        return (yield from self.vfs.call(self.vfs.fs.stat(self.ino)))

    def truncate(self, size: int):
        yield from self.vfs.call(self.vfs.fs.truncate(self.ino, size))

    def sync(self):
        yield from self.vfs.sync()
        error = self.vfs.write_errors.pop(self.ino, 0)
        if error:
            raise FsError(-error)

    seekable = True


class DirFile(File):
    """An open directory: getdents64 walks its entries by index."""
    seekable = True

    def __init__(self, vfs: Vfs, ino: int, flags: int):
        super().__init__(flags)
        self.vfs = vfs
        self.ino = ino

    def read(self, n: int):
        return -Errno.EISDIR
        yield

    def entries(self):
        return (yield from self.vfs.call(self.vfs.fs.readdir(self.ino)))

    def stat(self):
        return (yield from self.vfs.call(self.vfs.fs.stat(self.ino)))


def dirent64(ino: int, next_off: int, dtype: int, name: bytes) -> bytes:
    """struct linux_dirent64, padded to 8 bytes."""
    reclen = (19 + len(name) + 1 + 7) & ~7
    return struct.pack('<QqHB', ino, next_off, reclen, dtype) + name + bytes(reclen - 19 - len(name))


def normalize(cwd: Cwd, path: bytes) -> str:
    joined = posixpath.join(cwd.path, path.decode(errors='surrogateescape'))
    return posixpath.normpath(joined).replace('//', '/')
