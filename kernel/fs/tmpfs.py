"""tmpfs: a writable file system in memory (/tmp and /dev/shm).

A node is a TmpNode: a directory (its entries by name), a regular file (its pages) or a
symlink (its target).  A file's pages are frames from the kernel's FrameAllocator, so a
full /tmp is memory the guest does not have (a write that finds no frame is ENOSPC, as is
one past the size limit, half of memory as Linux's default; statfs counts against it); a
page is allocated on first write, so a hole reads as zeros.  The frames are the file's
own, referenced once by tmpfs: they are not swapped (the reclaimer leaves frames with
references it cannot account for), as Linux's tmpfs pages would be.  mmap maps the
frames themselves (TmpPageView stands for the buffer cache in the fault handler), so a
MAP_SHARED mapping and read()/write() see the same bytes.  An open file holds its node:
a file unlinked while open keeps its data until the last descriptor closes.
"""

import itertools
import weakref
from dataclasses import dataclass, field

from ..errno import Errno
from ..mm.frames import OutOfMemory, PAGE_SIZE
from ..mm.vm import MappedFile
from .ext2 import StatFs
from .ext2_layout import InodeType, S_IFMT
from .file import File, O_APPEND
from .fserror import FsError
from .fsys import FileSystem, DirFile, dtype_of, make_stat


@dataclass(eq=False)
class TmpNode:
    ino: int
    mode: int
    mtime: int
    size: int = 0
    pages: dict = field(default_factory=dict)              # a file's: page index -> frame
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


class TmpFs(FileSystem):
    name = 'tmpfs'
    magic = TMPFS_MAGIC

    def __init__(self, frames, clock_seconds=lambda: 0, dev: int = 0x15, reclaim=None):
        self.frames = frames
        self.memory = frames.memory
        self.reclaim = reclaim              # asked for memory once before a write gives up
        self.now = clock_seconds
        self.dev = dev
        self.size_pages = frames.total // 2     # Linux's default size= for a tmpfs: half of RAM
        self.pages_used = 0                     # frames the files of this tmpfs hold
        self.inos = itertools.count(1)
        self._root = self._node(InodeType.S_IFDIR | 0o1777)
        self._root.parent = self._root
        self._root.nlink = 2

    def _node(self, mode: int) -> TmpNode:
        return TmpNode(next(self.inos), int(mode), self.now())

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
        if node.kind != InodeType.S_IFREG:
            raise FsError(Errno.EINVAL)
        if size < node.size:
            for index in [i for i in node.pages if i * PAGE_SIZE >= size]:
                self._release_page(node.pages.pop(index))
            tail = node.pages.get(size // PAGE_SIZE)
            if tail is not None:                    # what a later growth shows must be zeros
                self.memory.fill(tail + size % PAGE_SIZE, PAGE_SIZE - size % PAGE_SIZE)
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
        """A file with no name and no open description gives its frames back (a mapping
        keeps its own reference to the frames it maps)."""
        if node.nlink <= 0 and node.opens == 0:
            for frame in node.pages.values():
                self._release_page(frame)
            node.pages.clear()

    def _release_page(self, frame: int) -> None:
        self.frames.release(frame)
        self.pages_used -= 1

    def frame(self, node: TmpNode, index: int) -> int:
        """The frame of page `index`, allocated (zeroed) if the file has none there yet."""
        frame = node.pages.get(index)
        if frame is None:
            if self.pages_used >= self.size_pages:
                raise FsError(Errno.ENOSPC)         # the tmpfs is full, memory or not
            try:
                frame = self.frames.alloc(zero=True)
            except OutOfMemory:
                if self.reclaim is None:
                    raise FsError(Errno.ENOSPC) from None
                self.reclaim.balance()
                try:
                    frame = self.frames.alloc(zero=True)
                except OutOfMemory:
                    raise FsError(Errno.ENOSPC) from None
            node.pages[index] = frame
            self.pages_used += 1
        return frame

    def pieces(self, node: TmpNode, offset: int, n: int) -> list:
        """[(frame address or None for a hole, length)] for bytes offset..offset+n."""
        out = []
        end = min(offset + n, node.size)
        while offset < end:
            index, within = divmod(offset, PAGE_SIZE)
            take = min(PAGE_SIZE - within, end - offset)
            frame = node.pages.get(index)
            out.append((frame + within if frame is not None else None, take))
            offset += take
        return out

    def read(self, node: TmpNode, offset: int, n: int) -> bytes:
        return b''.join(self.memory.read(a, k) if a is not None else bytes(k)
                        for a, k in self.pieces(node, offset, n))

    def write(self, node: TmpNode, offset: int, data: bytes) -> int:
        done = 0
        while done < len(data):
            index, within = divmod(offset + done, PAGE_SIZE)
            take = min(PAGE_SIZE - within, len(data) - done)
            self.memory.write(self.frame(node, index) + within, data[done:done + take])
            done += take
        node.size = max(node.size, offset + len(data))
        node.mtime = self.now()
        return done

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
        return self.fs.read(self.node, offset, n)
        yield

    def read_into(self, user, va: int, n: int):
        count = yield from self.pread_into(user, va, n, self.offset)
        self.offset += count
        return count

    def pread_into(self, user, va: int, n: int, offset: int):
        """Straight from the file's frames into the user's, as ext2 reads from the cache."""
        pieces = self.fs.pieces(self.node, offset, n)
        user.write_from_phys(va, pieces)
        return sum(k for _, k in pieces)
        yield

    def write(self, data: bytes):
        if self.flags & O_APPEND:
            self.offset = self.node.size
        n = yield from self.pwrite(data, self.offset)
        self.offset += n
        return n

    def pwrite(self, data: bytes, offset: int):
        return self.fs.write(self.node, offset, data)
        yield

    def stat(self):
        return self.fs.stat(self.node)
        yield

    def truncate(self, size: int):
        self.fs.truncate(self.node, size)
        return
        yield

    def mapping(self, first: int, count: int) -> MappedFile:
        """mmap: pages first..first+count as a MappedFile over the file's own frames (a
        page past the end of the file is 0 in `blocks`: SIGBUS, as on Linux)."""
        in_file = max(0, min(count, -(-self.node.size // PAGE_SIZE) - first))
        blocks = [first + i + 1 for i in range(in_file)] + [0] * (count - in_file)
        return MappedFile(TmpPageView(self.fs, self.node), blocks, first=first)

    def close(self) -> None:
        self.node.opens -= 1
        self.fs.forget_if_unused(self.node)


class _Present:
    """A page the fault handler finds in memory: its frame for block number b."""
    valid = True

    def __init__(self, frame: int):
        self.frame = frame

    def addr(self, blockno: int) -> int:
        return self.frame


class TmpPageView:
    """What the fault handler and msync ask of a mapped file's cache, for a tmpfs file:
    block b is page b - 1 of the file, always present, never written anywhere."""
    bad = frozenset()

    def __init__(self, fs: TmpFs, node: TmpNode):
        self.fs = fs
        self.node = node
        node.opens += 1                  # a mapping keeps the file's pages alive too ...
        weakref.finalize(self, fs.unmapped, node)   # ... until its last region is gone

    def page(self, blockno: int) -> _Present:
        return _Present(self.fs.frame(self.node, blockno - 1))

    def prefetch(self, blocks) -> None:
        pass

    def mark_dirty(self, blockno: int) -> None:
        pass

    def sync(self):
        return
        yield
