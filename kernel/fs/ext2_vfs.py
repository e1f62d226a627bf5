"""ext2 behind the VFS interface (fsys.FileSystem): one mounted ext2 file system.

Ext2 calls must not interleave across a yield, so every call runs under the mount's sleep
lock (`call`).  A node is an inode number.  InodeFile is an open regular file with its
fast paths: reads straight from the buffer cache's frames into user memory, readahead,
O_DIRECT (direct.py) and mmap of the cache's frames (sys/memory.py) all use its `vfs`
(this mount: .fs, .cache, .call) and `ino`.

The mount also counts the open files and mappings of each inode (InodeFile, InodeHold),
so that an inode whose last name goes while it is open becomes an orphan (ext2_links.py)
and is freed only after its last close.  A close cannot wait for the disk, so the next
call on the mount frees the inodes whose last holder went meanwhile.
"""

from typing import TYPE_CHECKING

from ..errno import Errno
from ..mm.frames import OutOfMemory
from ..mm.uaccess import BadAddress
from ..proc.lock import SleepLock
from .ext2_layout import ROOT_INO as ROOT
from .file import File, O_APPEND
from .fserror import FsError
from .fsys import FileSystem, DirFile, is_dir

# System calls ask whether a file is an InodeFile, so this module loads in every run; ext2
# itself (and the buffer cache) only when a disk is mounted (fs/mount.py).
if TYPE_CHECKING:
    from .ext2 import Ext2

EXT2_SUPER_MAGIC = 0xEF53


class Ext2Mount(FileSystem):
    name = 'ext2'
    dev = 0x801
    magic = EXT2_SUPER_MAGIC

    def __init__(self, kernel, fs: 'Ext2', cache):
        self.kernel = kernel
        self.fs = fs
        self.cache = cache
        self.lock = SleepLock(kernel.wake, 'ext2')
        self.write_errors: dict[int, int] = {}            # inode -> an error fsync must report
        self.open_counts: dict[int, int] = {}             # inode -> open InodeFiles and mappings
        self.closed: list[int] = []                       # last closes whose inodes await release
        fs.in_use = lambda ino: ino in self.open_counts

    @property
    def readonly(self) -> bool:
        return self.fs.readonly

    def call(self, gen):
        """Run one ext2 operation under the mount lock (a generator)."""
        yield from self.lock.acquire()
        try:
            yield from self._release_closed()
            return (yield from gen)
        finally:
            self.lock.release()

    # -- what an inode is and holds --------------------------------------------------------
    def root(self):
        return ROOT

    def lookup(self, dir_node, name: bytes):
        return self.call(self.fs.lookup(name, dir_node))

    def stat(self, node):
        return self.call(self.fs.stat(node))

    def open(self, node, flags: int):
        st = yield from self.stat(node)
        return Ext2DirFile(self, node, flags) if is_dir(st) else InodeFile(self, node, flags)

    def readdir(self, dir_node):
        listing = yield from self.call(self.fs.readdir(dir_node))
        return [(name.encode(errors='surrogateescape'), ino, int(kind)) for name, ino, kind in listing]

    def readdir_at(self, dir_node, pos: int, budget: int | None = None):
        listing = yield from self.call(self.fs.readdir_at(dir_node, pos, budget))
        return [(name.encode(errors='surrogateescape'), ino, int(kind), next_pos)
                for name, ino, kind, next_pos in listing]

    def readlink(self, node):
        return self.call(self.fs.readlink(node))

    def statfs(self):
        yield from self.call(self.fs.sync())            # (and frees orphans closed meanwhile)
        return self.fs.statfs()

    # -- changes ----------------------------------------------------------------------------
    def create(self, dir_node, name: bytes, mode: int):
        return self.call(self.fs.create(dir_node, name, mode & 0o7777))

    def mkdir(self, dir_node, name: bytes, mode: int):
        return self.call(self.fs.mkdir(dir_node, name, mode & 0o7777))

    def mknod(self, dir_node, name: bytes, mode: int, major: int, minor: int):
        return self.call(self.fs.mknod(dir_node, name, mode, major, minor))

    def unlink(self, dir_node, name: bytes):
        return self.call(self.fs.unlink(dir_node, name))

    def rmdir(self, dir_node, name: bytes):
        return self.call(self.fs.rmdir(dir_node, name))

    def rename(self, old_dir, old_name: bytes, new_dir, new_name: bytes):
        return self.call(self.fs.rename(old_dir, old_name, new_dir, new_name))

    def symlink(self, dir_node, name: bytes, target: bytes):
        return self.call(self.fs.symlink(dir_node, name, target))

    def link(self, node, dir_node, name: bytes):
        return self.call(self.fs.link(node, dir_node, name))

    def truncate(self, node, size: int):
        return self.call(self.fs.truncate(node, size))

    def set_attrs(self, node, **attrs):
        """chmod, chown and utimes: mode, uid, gid, atime, mtime (ext2_attr.py)."""
        return self.call(self.fs.set_attrs(node, **attrs))

    def fallocate(self, ino: int, offset: int, length: int, keep_size: bool):
        return self.call(self.fs.fallocate(ino, offset, length, keep_size))

    def seek_data(self, ino: int, offset: int, want_hole: bool):
        return self.call(self.fs.seek_data(ino, offset, want_hole))

    def sync(self):
        yield from self.call(self.fs.sync())
        yield from self.cache.sync()

    def unmount(self):
        """At shutdown: write everything back and mark the file system clean."""
        yield from self.call(self.fs.unmount())

    def record_write_error(self, ino: int) -> None:
        """An asynchronous write to the file failed after its call returned."""
        self.write_errors[ino] = -Errno.EIO

    # -- open files and the orphans they keep ------------------------------------------------
    def opened(self, ino: int) -> None:
        self.open_counts[ino] = self.open_counts.get(ino, 0) + 1

    def dropped(self, ino: int) -> None:
        """An open file or mapping of ino is gone; at the last one, the next call frees
        the inode if it has no name left (an orphan)."""
        left = self.open_counts[ino] - 1
        if left:
            self.open_counts[ino] = left
        else:
            del self.open_counts[ino]
            self.closed.append(ino)

    def _release_closed(self):
        while self.closed:
            ino = self.closed.pop()
            if ino not in self.open_counts:
                yield from self.fs.release(ino)

    def release_closed(self):
        """Free the orphans whose last descriptor has closed (at shutdown)."""
        yield from self.call(self._release_closed())


class Ext2DirFile(DirFile):
    """An open ext2 directory: getdents64 reads it by byte position (entries_at)."""

    @property
    def ino(self) -> int:
        return self.node

    def entries_at(self, pos: int, budget: int | None = None):
        """[(name, ino, d_type, next position)] from byte position pos, enough to fill
        `budget` bytes of dirent64 records at least (ext2_dirs.py)."""
        return (yield from self.fs.readdir_at(self.node, pos, budget))


class InodeHold:
    """What a file mapping holds of its inode: like an open file, each region mapping it
    keeps an unlinked inode from being freed (a mapping outlives its descriptor)."""

    def __init__(self, vfs: Ext2Mount, ino: int):
        self.vfs = vfs
        self.ino = ino

    def hold(self) -> None:
        self.vfs.opened(self.ino)

    def drop(self) -> None:
        self.vfs.dropped(self.ino)


READAHEAD_MIN = 4               # blocks read ahead when a file is first read sequentially
READAHEAD_MAX_BYTES = 4 << 20   # the window doubles while reading stays sequential, up to this


def _whole_runs(runs: list) -> list:
    """A readahead window's runs of disk blocks, less the last one when there are several:
    the window may cut that run, so it starts the next window instead, which then holds it
    whole.  A file written in one go is long runs broken only by its indirect blocks, so
    after one short window the windows fall into step with the runs and each is one run
    (one buffer, one command) where a window across a break would cost two."""
    return runs[:-1] if len(runs) > 1 else runs


class InodeFile(File):
    """An open regular file, with its readahead state (Linux's file_ra_state)."""

    def __init__(self, vfs: Ext2Mount, ino: int, flags: int):
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
        contiguous memory on both sides; the buffers stay held meanwhile.  A read larger
        than the cache's hold_most() goes in pieces of that, so it needs no more memory
        than that however large it is; a piece after the first that fails ends the read
        short, with the bytes copied so far."""
        cache = self.vfs.cache
        piece = cache.hold_most() * self.vfs.fs.block_size
        sequential = offset == self.ra_next
        done = 0
        while done < n:
            want = min(piece, n - done)
            try:
                segments, count, end = yield from self.vfs.call(self._hold(offset + done, want))
                try:
                    user.write_from_phys(va + done, segments)
                finally:
                    cache.release(segments.held)
            except (BadAddress, FsError, OutOfMemory):
                if not done:
                    raise
                break
            if sequential:
                cache.read_past(segments.held, end)
            done += count
            if count < want:
                break                               # the end of the file
        yield from self._read_ahead(offset, done)
        return done

    def _hold(self, offset: int, n: int):
        """Hold the cached runs of bytes offset.. (n of them at most): (their segments,
        the bytes there are, the disk block after the last whole block among them)."""
        runs, skip, count = yield from self.vfs.fs.read_runs(self.ino, offset, n)
        segments = yield from self.vfs.cache.hold_runs(runs)
        end = 0
        if runs and runs[-1][0]:
            end = runs[-1][0] + runs[-1][1] - bool((skip + count) % self.vfs.fs.block_size)
        return segments.window(skip, count), count, end

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
        largest = 1 << (largest.bit_length() - 1)   # a power of two, as a file's runs between
                                                    # its indirect blocks are: windows stay in step
        self.ra_window = min(largest, max(READAHEAD_MIN, 2 * self.ra_window, 2 * (-(-n // bs))))
        reader = (offset + n + bs - 1) // bs
        if self.ra_end - reader >= self.ra_window:
            return                                  # enough is on its way already
        first = max(self.ra_end, reader)
        runs, leaves = yield from self.vfs.call(self._window(first, self.ra_window))
        cache.prefetch_runs(runs, readahead=True, metadata=leaves)
        self.ra_end = first + sum(count for _, count in runs)

    def _window(self, first: int, count: int):
        """A readahead window from logical block first: its runs (_whole_runs), and the
        indirect block the next window will need first (if the window ends where one
        starts mapping)."""
        fs = self.vfs.fs
        runs = _whole_runs((yield from fs.file_runs(self.ino, first, count)))
        leaves = yield from fs.leaves_ahead(self.ino, first + sum(n for _, n in runs), 1)
        return runs, leaves

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
        self.vfs.dropped(self.ino)

    seekable = True
