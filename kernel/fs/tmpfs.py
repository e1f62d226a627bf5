"""tmpfs: a writable file system in memory (/tmp and /dev/shm).

A node is a TmpNode: a directory (its entries by name), a regular file (its pages) or a
symlink (its target).  A file's pages are frames from the kernel's FrameAllocator, so a
full /tmp is memory the guest does not have (a write that finds no frame is ENOSPC, as is
one past the size limit, half of RAM and swap; statfs counts against it); a
page is allocated on first write, so a hole reads as zeros.  The frames are the file's
own, referenced once by tmpfs, and anonymous memory as far as reclaim is concerned: under
pressure they go to swap, mapped or not, and come back when read, written or touched
(mm/shmem.py keeps each page's frame or slot).  mmap maps the
frames themselves (TmpPageView stands for the buffer cache in the fault handler), so a
MAP_SHARED mapping and read()/write() see the same bytes.  An open file holds its node:
a file unlinked while open keeps its data until the last descriptor closes.
"""

import itertools
import weakref
from dataclasses import dataclass, field

from ..errno import Errno
from ..mm.frames import OutOfMemory, PAGE_SIZE
from ..mm.shmem import ShmemPages
from ..mm.vm import MappedFile
from .fsstat import StatFs
from .ext2_layout import InodeType, S_IFMT
from .file import File, O_APPEND
from .fserror import FsError
from .fsys import FileSystem, DirFile, dtype_of, make_stat


@dataclass(eq=False)
class TmpNode:
    """An inode of a tmpfs: its attributes, and its data in frames or its entries."""
    ino: int
    mode: int
    mtime: int
    size: int = 0
    pages: ShmemPages = None                               # a file's: index -> frame or slot
    target: bytes = b''                                    # a symlink's
    entries: dict = field(default_factory=dict)            # a directory's: name -> TmpNode
    parent: 'TmpNode | None' = None
    nlink: int = 1
    uid: int = 0
    gid: int = 0
    rdev: tuple = (0, 0)                                   # a device node's (major, minor)
    opens: int = 0                                         # open descriptions holding it

    @property
    def kind(self) -> int:
        return self.mode & S_IFMT


TMPFS_MAGIC = 0x01021994
MAX_FILE_SIZE = (1 << 63) - 1           # Linux's MAX_LFS_FILESIZE on 64-bit


class TmpFs(FileSystem):
    name = 'tmpfs'
    magic = TMPFS_MAGIC

    def __init__(self, frames, clock_seconds=lambda: 0, dev: int = 0x15, reclaim=None):
        self.frames = frames
        self.memory = frames.memory
        self.reclaim = reclaim              # asked for memory once before a write gives up
        self.now = clock_seconds
        self.dev = dev
        self.pages_used = 0                     # frames the files of this tmpfs hold
        self.limited = True                     # False: no size limit (shared anonymous memory)
        self.inos = itertools.count(1)
        self._root = self._node(InodeType.S_IFDIR | 0o1777)
        self._root.parent = self._root
        self._root.nlink = 2

    def _node(self, mode: int) -> TmpNode:
        return TmpNode(next(self.inos), int(mode), self.now(), pages=ShmemPages(self.frames, self.reclaim))

    def root(self):
        return self._root

    @staticmethod
    def _dir(node: TmpNode) -> TmpNode:
        if node.kind != InodeType.S_IFDIR:
            raise FsError(Errno.ENOTDIR)
        return node

    def lookup(self, dir_node: TmpNode, name: bytes):
        d = self._dir(dir_node)
        if name == b'.':
            return d
        if name == b'..':
            return d.parent
        child = d.entries.get(name)
        if child is None:
            raise FsError(Errno.ENOENT)
        return child

    def stat(self, node: TmpNode):
        size = node.size if node.kind != InodeType.S_IFDIR else PAGE_SIZE
        return make_stat(node.ino, node.mode, size, nlink=node.nlink, mtime=node.mtime,
                         blocks=len(node.pages) * (PAGE_SIZE // 512), uid=node.uid, gid=node.gid,
                         rdev_major=node.rdev[0], rdev_minor=node.rdev[1])

    def open(self, node: TmpNode, flags: int):
        if node.kind == InodeType.S_IFDIR:
            return DirFile(self, node, flags)
        return TmpFile(self, node, flags)

    def readdir(self, dir_node: TmpNode):
        d = self._dir(dir_node)
        listing = [(b'.', d.ino, dtype_of(d.mode)), (b'..', d.parent.ino, dtype_of(d.parent.mode))]
        return listing + [(name, n.ino, dtype_of(n.mode)) for name, n in d.entries.items()]

    def readlink(self, node: TmpNode):
        if node.kind != InodeType.S_IFLNK:
            raise FsError(Errno.EINVAL)
        return node.target

    def statfs(self):
        used = sum(1 for _ in self._walk(self._root))
        return StatFs(block_size=PAGE_SIZE, blocks=self.size_pages,
                      free_blocks=max(0, self.size_pages - self.pages_used),
                      inodes=1 << 16, free_inodes=(1 << 16) - used)

    def _walk(self, d: TmpNode):
        for n in d.entries.values():
            yield n
            if n.kind == InodeType.S_IFDIR:
                yield from self._walk(n)

    # -- changes ---------------------------------------------------------------------------
    def _add(self, dir_node: TmpNode, name: bytes, node: TmpNode) -> TmpNode:
        d = self._dir(dir_node)
        if d.nlink == 0:
            raise FsError(Errno.ENOENT)             # the directory was removed
        if name in d.entries:
            raise FsError(Errno.EEXIST)
        d.entries[name] = node
        d.mtime = self.now()
        return node

    def create(self, dir_node, name: bytes, mode: int):
        return self._add(dir_node, name, self._node(InodeType.S_IFREG | mode & 0o7777))

    def mkdir(self, dir_node, name: bytes, mode: int):
        node = self._add(dir_node, name, self._node(InodeType.S_IFDIR | mode & 0o7777))
        node.parent, node.nlink = dir_node, 2
        return node

    def mknod(self, dir_node, name: bytes, mode: int, major: int, minor: int):
        """A FIFO, device node or empty file: the VFS opens the first two (its FIFO
        table, the device switch), so a node here is only its type and number."""
        node = self._add(dir_node, name, self._node(mode))
        node.rdev = (major, minor)
        return node

    def symlink(self, dir_node, name: bytes, target: bytes):
        node = self._add(dir_node, name, self._node(InodeType.S_IFLNK | 0o777))
        node.target = bytes(target)
        node.size = len(target)
        return node

    def link(self, node: TmpNode, dir_node, name: bytes):
        if node.kind == InodeType.S_IFDIR:
            raise FsError(Errno.EPERM)
        self._add(dir_node, name, node)
        node.nlink += 1

    def unlink(self, dir_node, name: bytes):
        node = self.lookup(dir_node, name)
        if node.kind == InodeType.S_IFDIR:
            raise FsError(Errno.EISDIR)
        del dir_node.entries[name]
        self._drop_link(node)

    def rmdir(self, dir_node, name: bytes):
        node = self.lookup(dir_node, name)
        self._dir(node)
        if node.entries:
            raise FsError(Errno.ENOTEMPTY)
        del dir_node.entries[name]
        node.nlink = 0

    def rename(self, old_dir, old_name: bytes, new_dir, new_name: bytes):
        node = self.lookup(old_dir, old_name)
        self._dir(new_dir)
        if node.kind == InodeType.S_IFDIR and self._is_within(new_dir, node):
            raise FsError(Errno.EINVAL)             # into its own subtree
        target = new_dir.entries.get(new_name)
        if target is node:
            return
        if target is not None:
            if target.kind == InodeType.S_IFDIR:
                if node.kind != InodeType.S_IFDIR:
                    raise FsError(Errno.EISDIR)
                if target.entries:
                    raise FsError(Errno.ENOTEMPTY)
            elif node.kind == InodeType.S_IFDIR:
                raise FsError(Errno.ENOTDIR)
            if target.kind == InodeType.S_IFDIR:
                target.nlink = 0
            else:
                self._drop_link(target)
        del old_dir.entries[old_name]
        new_dir.entries[new_name] = node
        if node.kind == InodeType.S_IFDIR:
            node.parent = new_dir

    @staticmethod
    def _is_within(d: TmpNode, ancestor: TmpNode) -> bool:
        while True:
            if d is ancestor:
                return True
            if d.parent is d:
                return False
            d = d.parent

    def truncate(self, node: TmpNode, size: int):
        """A generator: the page that keeps a tail may first have to come back from swap."""
        if node.kind != InodeType.S_IFREG:
            raise FsError(Errno.EINVAL)
        if size < node.size:
            for index in [i for i in node.pages.indices() if i * PAGE_SIZE >= size]:
                self._drop_page(node, index)
            if size % PAGE_SIZE and size // PAGE_SIZE in node.pages:
                tail = yield from self.resident(node, size // PAGE_SIZE)
                # what a later growth shows must be zeros
                self.memory.fill(tail + size % PAGE_SIZE, PAGE_SIZE - size % PAGE_SIZE)
                node.pages.written(tail)
        node.size = size
        node.mtime = self.now()

    # -- the pages of a file ------------------------------------------------------------------
    def _drop_link(self, node: TmpNode) -> None:
        node.nlink -= 1
        self.forget_if_unused(node)

    def unmapped(self, node: TmpNode) -> None:
        node.opens -= 1
        self.forget_if_unused(node)

    def forget_if_unused(self, node: TmpNode) -> None:
        """A file with no name and no open description gives its pages back, in memory or
        in swap (a mapping keeps its own reference to the frames it maps)."""
        if node.nlink <= 0 and node.opens == 0:
            self.pages_used -= node.pages.forget()

    def _drop_page(self, node: TmpNode, index: int) -> None:
        if node.pages.drop(index):
            self.pages_used -= 1

    @property
    def size_pages(self) -> int:
        """The size limit: half of the memory its pages can live in (Linux's default is half
        of RAM; with swap, ukern counts the swap area too, so /tmp may outgrow RAM)."""
        swap = self.frames.swap
        if not self.limited:
            return self.frames.total + (swap.nslots if swap is not None else 0)
        return (self.frames.total + (swap.nslots if swap is not None else 0)) // 2

    def unnamed_mapping(self, size: int) -> MappedFile:
        """mmap(MAP_SHARED | MAP_ANONYMOUS): a file of `size` bytes with no name, mapped
        whole; every process that inherits the mapping maps its pages, which swap like any
        tmpfs page, and go when the last mapping does (Linux's shmem_zero_setup)."""
        node = self._node(InodeType.S_IFREG | 0o600)
        node.nlink, node.size = 0, size
        count = -(-size // PAGE_SIZE)
        return MappedFile(TmpPageView(self, node), [i + 1 for i in range(count)])

    def new_page(self, node: TmpNode, index: int) -> int:
        """A zeroed frame for hole `index` (ENOSPC when the tmpfs is full; OutOfMemory when
        memory is, for the caller to wait or fail)."""
        if self.pages_used >= self.size_pages:
            raise FsError(Errno.ENOSPC)         # the tmpfs is full, memory or not
        frame = self.frames.alloc(zero=True)
        node.pages.add(index, frame)
        self.pages_used += 1
        return frame

    def resident(self, node: TmpNode, index: int, overwrite: bool = False):
        """A generator: the frame of page `index`, brought back from swap or made (zeroed)
        first, waiting for the swap read or for free memory as needed.  `overwrite`: the
        caller replaces the whole page, so a swapped copy need not be read."""
        pages = node.pages
        while True:
            frame = pages.get(index)
            if frame is not None:
                return frame
            if index in pages.lost:
                raise FsError(Errno.EIO)            # its swap read failed
            if overwrite and index in pages.swapped:
                self._drop_page(node, index)
            arriving = pages.page_in(index)
            if arriving is not None:
                yield arriving.request.waiters
                continue
            if index not in pages:
                try:
                    return self.new_page(node, index)
                except OutOfMemory:
                    pass
            yield from self._wait_for_memory()

    def _wait_for_memory(self):
        """No free frame: wait while page-outs are under way, else the tmpfs is full."""
        if self.reclaim is not None:
            self.reclaim.balance()
            if self.reclaim.inflight:
                yield self.reclaim.memory_freed
                return
        raise FsError(Errno.ENOSPC)

    def bring_in(self, node: TmpNode, offset: int, n: int):
        """A generator: every page of bytes offset..offset+n that the file holds is in memory
        when it returns (their swap reads all start at once, so they overlap)."""
        pages = node.pages
        first, end = offset // PAGE_SIZE, -(-min(offset + n, node.size) // PAGE_SIZE)
        while pages.swapped or pages.arriving or pages.lost:
            missing = [i for i in range(first, end) if i in pages and pages.get(i) is None]
            if not missing:
                return
            waiting = [a for a in map(pages.page_in, missing) if a is not None]
            if waiting:
                yield waiting[0].request.waiters
            else:
                yield from self.resident(node, missing[0])    # EIO, or wait for memory

    def pieces(self, node: TmpNode, offset: int, n: int) -> list:
        """[(frame address or None for a hole, length)] for bytes offset..offset+n, which
        must be in memory (bring_in)."""
        out = []
        end = min(offset + n, node.size)
        while offset < end:
            index, within = divmod(offset, PAGE_SIZE)
            take = min(PAGE_SIZE - within, end - offset)
            frame = node.pages.get(index)
            out.append((frame + within if frame is not None else None, take))
            offset += take
        return out

    def read(self, node: TmpNode, offset: int, n: int):
        yield from self.bring_in(node, offset, n)
        return b''.join(self.memory.read(a, k) if a is not None else bytes(k)
                        for a, k in self.pieces(node, offset, n))

    def write(self, node: TmpNode, offset: int, data: bytes):
        """A generator; a short count if the tmpfs fills up after some bytes went in."""
        done = 0
        while done < len(data):
            index, within = divmod(offset + done, PAGE_SIZE)
            take = min(PAGE_SIZE - within, len(data) - done)
            try:
                frame = yield from self.resident(node, index, overwrite=take == PAGE_SIZE)
            except FsError:
                if not done:
                    raise
                break
            self.memory.write(frame + within, data[done:done + take])
            node.pages.written(frame)
            done += take
        node.size = max(node.size, offset + done)
        node.mtime = self.now()
        return done

    def fallocate(self, node: TmpNode, offset: int, length: int, keep_size: bool):
        """A generator: give the pages covering offset..offset+length frames (zeros where
        there were holes) and, unless keep_size, grow the file to cover them.  As on
        Linux's tmpfs, keep_size may allocate past the end of the file."""
        if node.kind != InodeType.S_IFREG:
            raise FsError(Errno.ENODEV)
        if offset + length > MAX_FILE_SIZE:
            raise FsError(Errno.EFBIG)
        first, end = offset // PAGE_SIZE, -(-(offset + length) // PAGE_SIZE)
        held = sum(1 for i in node.pages.indices() if first <= i < end)
        if self.pages_used + (end - first - held) > self.size_pages:
            raise FsError(Errno.ENOSPC)             # all or nothing: it would not fit
        for index in range(first, end):
            if index not in node.pages:
                yield from self.resident(node, index)
        if not keep_size and offset + length > node.size:
            node.size = offset + length
        node.mtime = self.now()

    def seek_data(self, node: TmpNode, offset: int, want_hole: bool) -> int:
        """lseek's SEEK_DATA (the first byte at or after offset in a page the file holds,
        in memory or in swap) or SEEK_HOLE (the first byte of a hole, or the end of the
        file); ENXIO at or past the end."""
        size = node.size
        if offset < 0 or offset >= size:
            raise FsError(Errno.ENXIO)
        held = node.pages.indices()
        index = offset // PAGE_SIZE
        if want_hole:
            while index in held:
                index += 1
            return min(max(offset, index * PAGE_SIZE), size)
        later = [i for i in held if i >= index]
        if not later or min(later) * PAGE_SIZE >= size:
            raise FsError(Errno.ENXIO)
        return max(offset, min(later) * PAGE_SIZE)

    def set_attrs(self, node: TmpNode, mode=None, uid=None, gid=None, atime=None, mtime=None):
        """chmod, chown and utimes (tmpfs keeps one time, the modification time)."""
        if mode is not None:
            node.mode = node.kind | mode & 0o7777
        if uid is not None:
            node.uid = uid
        if gid is not None:
            node.gid = gid
        if mtime is not None:
            node.mtime = mtime


class TmpFile(File):
    """An open tmpfs file: reads and writes go to its node's frames."""
    seekable = True

    def __init__(self, fs: TmpFs, node: TmpNode, flags: int):
        super().__init__(flags)
        self.fs = fs
        self.node = node
        node.opens += 1

    def read(self, n: int):
        data = yield from self.pread(n, self.offset)
        self.offset += len(data)
        return data

    def pread(self, n: int, offset: int):
        return (yield from self.fs.read(self.node, offset, n))

    def read_into(self, user, va: int, n: int):
        count = yield from self.pread_into(user, va, n, self.offset)
        self.offset += count
        return count

    def pread_into(self, user, va: int, n: int, offset: int):
        """Straight from the file's frames into the user's, as ext2 reads from the cache."""
        yield from self.fs.bring_in(self.node, offset, n)
        pieces = self.fs.pieces(self.node, offset, n)
        held = [a & ~(PAGE_SIZE - 1) for a, _ in pieces if a is not None]
        for frame in held:             # the copy may wait for the user's pages meanwhile:
            self.fs.frames.pin(frame)  # a page-out finishing then must not free these
        try:
            user.write_from_phys(va, pieces)
        finally:
            for frame in held:
                self.fs.frames.unpin(frame)
        return sum(k for _, k in pieces)

    def write(self, data: bytes):
        if self.flags & O_APPEND:
            self.offset = self.node.size
        n = yield from self.pwrite(data, self.offset)
        self.offset += n
        return n

    def pwrite(self, data: bytes, offset: int):
        return (yield from self.fs.write(self.node, offset, data))

    def stat(self):
        return self.fs.stat(self.node)
        yield

    def truncate(self, size: int):
        yield from self.fs.truncate(self.node, size)

    def fallocate(self, offset: int, length: int, keep_size: bool):
        yield from self.fs.fallocate(self.node, offset, length, keep_size)

    def seek_data(self, offset: int, want_hole: bool):
        return self.fs.seek_data(self.node, offset, want_hole)
        yield

    def mapping(self, first: int, count: int) -> MappedFile:
        """mmap: pages first..first+count as a MappedFile over the file's own frames (a
        page past the end of the file is 0 in `blocks`: SIGBUS, as on Linux)."""
        view = TmpPageView(self.fs, self.node)
        return MappedFile(view, view.page_blocks(first, count), first=first)

    def close(self) -> None:
        self.node.opens -= 1
        self.fs.forget_if_unused(self.node)


class Present:
    """A page the fault handler finds in memory: its frame for block number b (the view a
    memory file's mapping gives: tmpfs here, a shared host file in hostmap.py)."""
    valid = True

    def __init__(self, frame: int):
        self.frame = frame

    def addr(self, blockno: int) -> int:
        return self.frame


class _Arriving:
    """A page on its way back from swap: the fault handler waits on io.waiters."""
    valid = False

    def __init__(self, request):
        self.io = request


class TmpPageView:
    """What the fault handler and msync ask of a mapped file's cache, for a tmpfs file:
    block b is page b - 1 of the file, in memory or brought back from swap, never
    written anywhere (a page that cannot be had is in `bad`: SIGBUS)."""
    gives_back_mapped_pages = False     # its pages go to swap instead (mm/shmem.py)

    def __init__(self, fs: TmpFs, node: TmpNode):
        self.fs = fs
        self.node = node
        self.identity = node             # what a futex in the mapping is keyed by (proc/futex.py)
        self.full: set[int] = set()      # blocks the fault handler found no room for
        node.opens += 1                  # a mapping keeps the file's pages alive too ...
        weakref.finalize(self, fs.unmapped, node)   # ... until its last region is gone

    @property
    def bad(self) -> set[int]:
        return self.full | {index + 1 for index in self.node.pages.lost}

    def page_blocks(self, first: int, count: int) -> list[int]:
        """The block numbers of pages first..first+count (0 past the end of the file: a
        touch there is SIGBUS), for mmap and for mremap growing a mapping."""
        in_file = max(0, min(count, -(-self.node.size // PAGE_SIZE) - first))
        return [first + i + 1 for i in range(in_file)] + [0] * (count - in_file)

    def page(self, blockno: int):
        """Present, _Arriving, or None (then blockno is in `bad`); OutOfMemory when no
        frame is free (the fault handler waits for reclaim)."""
        index, pages = blockno - 1, self.node.pages
        frame = pages.get(index)
        if frame is not None:
            return Present(frame)
        if index in pages.lost:
            return None
        arriving = pages.page_in(index)
        if arriving is not None:
            return _Arriving(arriving.request)
        if index in pages.swapped:
            raise OutOfMemory()          # no frame to read it into yet
        try:
            return Present(self.fs.new_page(self.node, index))
        except FsError:                  # the tmpfs is full: SIGBUS, as on Linux
            self.full.add(blockno)
            return None

    def peek(self, blockno: int) -> Present | None:
        """Page blockno - 1 if the file has one already (none is made: fault-around)."""
        frame = self.node.pages.get(blockno - 1)
        return Present(frame) if frame is not None else None

    def prefetch(self, blocks) -> None:
        """Start the swap reads of these pages together (the fault handler's readahead)."""
        for blockno in blocks:
            self.node.pages.page_in(blockno - 1)

    def mark_dirty(self, blockno: int) -> None:
        pass

    def sync(self):
        return
        yield
