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
from .fifo import Fifo, FifoReader, FifoReadWrite, FifoWriter, FlockTable, wait_for_partner
from .file import File, O_ACCMODE, O_RDONLY, O_RDWR, O_NONBLOCK
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
MAX_SYMLINKS = 40             # Linux's limit on links followed in one lookup (ELOOP past it)


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
        self.open_counts: dict[int, int] = {}             # inode -> open InodeFiles
        self.closed: list[int] = []                       # last closes whose inodes await release
        self.fifos: dict[int, 'Fifo'] = {}                # inode of an open FIFO -> its pipe
        self.flocks: dict[int, 'FlockTable'] = {}         # inode -> its flock(2) holders
        fs.in_use = lambda ino: ino in self.open_counts

    def call(self, gen):
        """Run one ext2 operation under the mount lock (a generator)."""
        yield from self.lock.acquire()
        try:
            yield from self._release_closed()
            return (yield from gen)
        finally:
            self.lock.release()

    def _release_closed(self):
        """Free the inodes whose last descriptor closed with no name left (close itself
        cannot wait for the disk, so the next file-system call does it)."""
        while self.closed:
            ino = self.closed.pop()
            if ino not in self.open_counts:
                yield from self.fs.release(ino)

    # -- paths --------------------------------------------------------------------------
    def lookup(self, path: bytes, cwd: Cwd, follow: bool = True):
        """The inode path names; a symbolic link as the last component is followed unless
        `follow` is false (links inside the path are not: ext2.lookup does not)."""
        ino = yield from self.call(self.fs.lookup(path, cwd.ino))
        wants_dir = path.endswith(b'/')
        for _ in range(MAX_SYMLINKS if follow or wants_dir else 0):
            if not (yield from self.call(self.fs.is_symlink(ino))):
                break
            target = yield from self.call(self.fs.readlink(ino))
            head = path.rstrip(b'/').rpartition(b'/')[0] or (b'/' if path.startswith(b'/') else b'.')
            base = Cwd((yield from self.call(self.fs.lookup(head, cwd.ino))), '/')
            path, cwd = target, base
            ino = yield from self.call(self.fs.lookup(target, base.ino))
        else:
            if (follow or wants_dir) and (yield from self.call(self.fs.is_symlink(ino))):
                raise FsError(Errno.ELOOP)
        if wants_dir and (yield from self.call(self.fs.stat(ino))).mode & S_IFMT != InodeType.S_IFDIR:
            raise FsError(Errno.ENOTDIR)
        return ino

    def parent_and_name(self, path: bytes, cwd: Cwd):
        """(directory inode, last component) for creating or removing `path`."""
        if not path:
            raise FsError(Errno.ENOENT)
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
            excl = flags & O_CREAT and flags & O_EXCL
            ino = yield from self.lookup(path, cwd, follow=not (flags & O_NOFOLLOW or excl))
            if flags & O_CREAT and flags & O_EXCL:
                raise FsError(Errno.EEXIST)
        except FsError as e:
            if e.errno != Errno.ENOENT or not flags & O_CREAT:
                raise
            dir_ino, name = yield from self.parent_and_name(path, cwd)
            if not flags & (O_NOFOLLOW | O_EXCL):
                dir_ino, name = yield from self._dangling_link_target(dir_ino, name)
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
        if kind == InodeType.S_IFLNK:
            raise FsError(Errno.ELOOP)          # O_NOFOLLOW, and the last name is a link
        if kind == InodeType.S_IFIFO:
            return (yield from self.open_fifo(ino, flags))
        if kind != InodeType.S_IFREG:
            raise FsError(Errno.EACCES)
        if flags & O_TRUNC and flags & O_ACCMODE != O_RDONLY:
            yield from self.call(self.fs.truncate(ino, 0))
        return InodeFile(self, ino, flags)

    def _dangling_link_target(self, dir_ino: int, name: bytes):
        """Where O_CREAT creates when `name` is a symbolic link to nothing yet: at its
        target, as Linux does (one level of link)."""
        try:
            ino = yield from self.call(self.fs.lookup(name, dir_ino))
            if not (yield from self.call(self.fs.is_symlink(ino))):
                return dir_ino, name
        except FsError:
            return dir_ino, name
        target = yield from self.call(self.fs.readlink(ino))
        return (yield from self.parent_and_name(target, Cwd(dir_ino, '/')))

    def stat(self, path: bytes, cwd: Cwd, follow: bool = True):
        """The Stat of a path (a generator); /proc included."""
        absolute = normalize(cwd, path)
        if ProcFs.owns(absolute):
            return (yield from self.procfs.open(absolute, O_RDONLY).stat())
        ino = yield from self.lookup(path, cwd, follow)
        return (yield from self.call(self.fs.stat(ino)))

    def read_file(self, path: bytes, cwd: Cwd):
        """The whole content of a regular file (for exec)."""
        ino = yield from self.lookup(path, cwd)
        st = yield from self.call(self.fs.stat(ino))
        if st.mode & S_IFMT != InodeType.S_IFREG or not st.mode & 0o111:
            raise FsError(Errno.EACCES)
        return (yield from self.call(self.fs.read(ino, 0, st.size)))

    def sync(self):
        yield from self.call(self.fs.sync())
        yield from self.cache.sync()

    def record_write_error(self, ino: int) -> None:
        """An asynchronous write to the file failed after its call returned."""
        self.write_errors[ino] = -Errno.EIO

    # -- links, attributes, FIFOs and locks (kernel/sys/fsmeta.py) ----------------------
    def opened(self, ino: int) -> None:
        self.open_counts[ino] = self.open_counts.get(ino, 0) + 1

    def closed_file(self, f) -> None:
        """An open file of inode f.ino is gone: drop its locks, and at the last one let
        the next call free the inode if it has no name left (an orphan, ext2_links.py)."""
        self.unlock_all(f)
        self.dropped(f.ino)

    def dropped(self, ino: int) -> None:
        left = self.open_counts[ino] - 1
        if left:
            self.open_counts[ino] = left
        else:
            del self.open_counts[ino]
            self.closed.append(ino)

    def release_closed(self):
        """Free the orphans whose last descriptor has closed (at shutdown)."""
        yield from self.call(self._release_closed())

    def open_fifo(self, ino: int, flags: int):
        """An end of the pipe behind FIFO inode ino (fifo.py), waiting for the other end."""
        fifo = self.fifos.get(ino)
        if fifo is None:
            fifo = self.fifos[ino] = Fifo(self.kernel.wake, lambda: self.fifos.pop(ino, None))
        mode = flags & O_ACCMODE
        if mode == O_RDWR:
            return FifoReadWrite(fifo, flags)
        if mode == O_RDONLY:
            end = FifoReader(fifo, flags)
        elif flags & O_NONBLOCK and not fifo.pipe.readers:
            if not fifo.users:
                fifo.forget()
            raise FsError(Errno.ENXIO)
        else:
            end = FifoWriter(fifo, flags)
        if flags & O_NONBLOCK:
            return end
        return (yield from wait_for_partner(fifo, end, reading=mode == O_RDONLY))

    def symlink(self, target: bytes, path: bytes, cwd: Cwd):
        dir_ino, name = yield from self.parent_and_name(path, cwd)
        yield from self.call(self.fs.symlink(dir_ino, name, target))

    def readlink(self, path: bytes, cwd: Cwd):
        if ProcFs.owns(normalize(cwd, path)):
            raise FsError(Errno.EINVAL)
        ino = yield from self.lookup(path, cwd, follow=False)
        return (yield from self.call(self.fs.readlink(ino)))

    def link(self, old: bytes, old_cwd: Cwd, new: bytes, new_cwd: Cwd, follow: bool):
        ino = yield from self.lookup(old, old_cwd, follow)
        dir_ino, name = yield from self.parent_and_name(new, new_cwd)
        yield from self.call(self.fs.link(ino, dir_ino, name))

    def mknod(self, path: bytes, cwd: Cwd, mode: int, major: int, minor: int):
        dir_ino, name = yield from self.parent_and_name(path, cwd)
        yield from self.call(self.fs.mknod(dir_ino, name, mode, major, minor))

    def set_attrs(self, ino: int, **attrs):
        """chmod, chown and utimes on an inode: mode, uid, gid, atime, mtime (ext2_attr.py)."""
        yield from self.call(self.fs.set_attrs(ino, **attrs))

    def statfs(self):
        yield from self.call(self.fs.sync())            # (and frees orphans closed meanwhile)
        return self.fs.statfs()

    def fallocate(self, ino: int, offset: int, length: int, keep_size: bool):
        yield from self.call(self.fs.fallocate(ino, offset, length, keep_size))

    def seek_data(self, ino: int, offset: int, want_hole: bool):
        return (yield from self.call(self.fs.seek_data(ino, offset, want_hole)))

    def flock(self, f, op: int):
        table = self.flocks.setdefault(f.ino, FlockTable())
        return (yield from table.lock(f, op, self.kernel.wake))

    def unlock_all(self, f) -> None:
        table = self.flocks.get(f.ino)
        if table is not None:
            table.unlock(f, self.kernel.wake)
            if not table.holders:
                del self.flocks[f.ino]


READAHEAD_MIN = 4               # blocks read ahead when a file is first read sequentially
READAHEAD_MAX_BYTES = 4 << 20   # the window doubles while reading stays sequential, up to this


class InodeFile(File):
    """An open regular file, with its readahead state (Linux's file_ra_state)."""

    def __init__(self, vfs: Vfs, ino: int, flags: int):
        super().__init__(flags)
        self.vfs = vfs
        self.ino = ino
        vfs.opened(ino)
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

    def close(self) -> None:
        self.vfs.closed_file(self)

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

    def entries_at(self, pos: int):
        """[(name, ino, FileType, next position)] from byte position pos (ext2_attr.py)."""
        return (yield from self.vfs.call(self.vfs.fs.readdir_at(self.ino, pos)))

    def stat(self):
        return (yield from self.vfs.call(self.vfs.fs.stat(self.ino)))

    def close(self) -> None:
        self.vfs.unlock_all(self)


class InodeHold:
    """What a file mapping holds of its inode: like an open file, each region mapping it
    keeps an unlinked inode from being freed (a mapping outlives its descriptor)."""

    def __init__(self, vfs: Vfs, ino: int):
        self.vfs = vfs
        self.ino = ino

    def hold(self) -> None:
        self.vfs.opened(self.ino)

    def drop(self) -> None:
        self.vfs.dropped(self.ino)


def dirent64(ino: int, next_off: int, dtype: int, name: bytes) -> bytes:
    """struct linux_dirent64, padded to 8 bytes."""
    reclen = (19 + len(name) + 1 + 7) & ~7
    return struct.pack('<QqHB', ino, next_off, reclen, dtype) + name + bytes(reclen - 19 - len(name))


def normalize(cwd: Cwd, path: bytes) -> str:
    joined = posixpath.join(cwd.path, path.decode(errors='surrogateescape'))
    return posixpath.normpath(joined).replace('//', '/')
