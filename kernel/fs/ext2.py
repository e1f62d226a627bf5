"""The ext2 file system: files, directories and device nodes on a block device.

Ext2 keeps the superblock and group descriptors in memory (written back by sync()) and
reads everything else through the block device on demand: inodes from the inode tables,
allocation state from the per-group bitmaps, file data through the i_block map (12 direct
pointers, then single, double and triple indirect blocks).  The on-disk records are in
ext2_layout.py.

Every operation that may touch the disk is a generator: it does `yield from dev.read_block`
and the kernel's scheduler runs other work while the DMA is in flight.  Operations on one
Ext2 must not interleave (the kernel holds a per-mount lock around each call), because a
bitmap update is a read-modify-write that spans a yield.  Failures raise FsError(errno).
On the host, run_sync() (blockdev.py) drives a call to completion.

Surviving a crash: ordered writes, not a journal.  A power cut may stop the disk between
any two writes (and tear the one in flight at a sector boundary); what is on the disk
must then be a state `e2fsck -p` repairs without asking (leaked blocks and inodes, wrong
free counts and link counts, entries naming deleted inodes) and that the mount-time
check (ext2_check.py) repairs the same way.  We chose ordering over an ext3 (JBD2)
journal because it keeps the disk format plain ext2 and every operation's code where it
is: each rule is one ordered write at the place the dependency arises, where a journal
would need transactions around every operation, a log, replay at mount, revoke records
and checkpointing.  The price: a crash can leak space until the check, a rename over an
existing file is not atomic (the target's name may be gone, the source's kept), and a
crash in the middle of renaming a directory can leave it with two names, which neither
e2fsck -p nor the mount-time check repairs unasked (the check mounts read-only).
The rules, the soft-updates rules adapted to what e2fsck -p accepts:
  * contents before the metadata that points at them: file data, new directory blocks,
    zeroed indirect blocks and symlink blocks are contents; the buffer cache (bcache.py)
    writes every dirty block of contents before any metadata dirtied after it;
  * bitmaps and free counts are written lazily (write_meta): e2fsck -p and the
    mount-time check rebuild them; but a freed block or inode is given back in memory
    (reusable) only once nothing on the disk points at it any more;
  * a new inode's entry is on the disk (write_ordered) before the inode: an entry naming
    an unused inode is what e2fsck -p clears, where an inode no entry names it clears
    only when it is an empty regular file (not a directory, symlink or device), so the
    soft-updates rule "inode before entry" is turned round; the inode's contents (a
    directory's first block, a symlink's target) still come first, and a new directory's
    inode is on the disk before mkdir returns, so nothing is ever named inside a
    directory the disk does not have;
  * a name is added before an old one is removed (rename: at worst two names, a link
    count e2fsck -p fixes), and a directory block changing in more than one sector is
    written twice, so a torn write never leaves a record pointing at garbage;
  * on delete, the inode is marked deleted on the disk before its entry goes (an entry
    naming a deleted inode is what e2fsck -p clears; an unnamed live inode with data it
    would not), and its blocks and inode are freed after the entry is gone.
fsync(fd) writes everything (the file's data and the metadata that leads to it
included), then FLUSH CACHE.  The superblock says "not clean" while mounted read-write.
"""

from collections import OrderedDict
from typing import Callable

from kernel.errno import Errno
from kernel.fs.blockdev import BlockDevice, FileBlockDevice, run_sync  # noqa: F401 (re-exported)
from kernel.fs.ext2_alloc import Allocation
from kernel.fs.ext2_attr import Attributes
from kernel.fs.ext2_check import Check
from kernel.fs.ext2_dirs import Directories, DirIndex, DirSlot
from kernel.fs.ext2_links import FAST_SYMLINK_MAX, Links  # noqa: F401 (re-exported)
from kernel.fs.fserror import FsError, Ext2Error  # noqa: F401 (re-exported: callers import them from here)
from kernel.fs.fsstat import Stat, StatFs  # noqa: F401 (re-exported)
from kernel.fs.ext2_layout import (
    EA_MAGIC, GROUP_DESC_SIZE, GOOD_OLD_INODE_SIZE, LINK_MAX, NAME_MAX, ROOT_INO,
    S_IFMT, S_IPERM, SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, SUPPORTED_RO_COMPAT, FileType,
    GroupDesc, IncompatFeature, Inode, InodeFlag, InodeType, RoCompatFeature, State,
    Superblock, XattrHeader, ceil_div, decode_device, encode_device, file_type,
    has_block_map, is_dir, new_dir_block,
)

ROOT = ROOT_INO
MAX_PATH_DEPTH = 4096         # bound on '..' walks, in case a corrupt tree has a cycle


class Ext2(Allocation, Directories, Links, Attributes, Check):
    """One mounted ext2 file system.  Public generator methods (drive with `yield from`):

    mount()                                   read and check superblock + descriptors
    lookup(path, cwd_ino=ROOT) -> ino         walk a path; "." and ".." are real entries
    stat(ino) -> Stat                         readdir(ino) -> [(name, ino, FileType)]
    read(ino, offset, length) -> bytes        write(ino, offset, data) -> bytes written
    truncate(ino, size)                       readlink(ino) -> bytes
    create / mkdir / mknod / symlink(dir_ino, name, ...) -> ino of the new inode
    unlink / rmdir(dir_ino, name)             rename(old_dir, old_name, new_dir, new_name)
    sync()                                    write back superblock and group descriptors
    unmount()                                 write everything back, then mark the fs clean
    link(ino, dir_ino, name)                  another name; release(ino) at last close
    set_attrs, fallocate, seek_data: ext2_attr.py
    readdir_at, drop_dir_cache: ext2_dirs.py (directories and their name cache)
    """

    def __init__(self, dev: BlockDevice, now: Callable[[], int] = lambda: 0):
        self.dev = dev
        self.now = now                                  # seconds, from the kernel's clock
        self.sb: Superblock | None = None
        self.groups: list[GroupDesc] = []
        self.readonly = False
        self._inodes: dict[int, Inode] = {}             # write-through: one object per inode
        self._dirty = False                             # superblock or descriptors changed
        self._dir_indexes: OrderedDict[int, DirIndex] = OrderedDict()   # the name cache (ext2_dirs.py)
        self._leaf_memo: dict[bytes, tuple] = {}        # indirect block bytes -> runs (ext2_alloc.py)
        # Is the inode open?  (The VFS answers.)  An open inode losing its last name goes
        # on the orphan list instead of being freed (ext2_links.py).
        self.in_use: Callable[[int], bool] = lambda ino: False
        self.repaired: str | None = None                # what the mount-time check fixed

    # ---- mounting ------------------------------------------------------------------

    def mount(self):
        """Read and check the superblock and group descriptors."""
        self.dev.block_size = SUPERBLOCK_SIZE
        raw = yield from self.dev.read_block(SUPERBLOCK_OFFSET // SUPERBLOCK_SIZE)
        sb = Superblock.from_buffer_copy(raw)
        problem = sb.problem()
        if problem:
            raise Ext2Error(problem)
        self.sb = sb
        self.block_size = self.dev.block_size = sb.block_size
        self.ptrs_per_block = self.block_size // 4
        self.inode_size = sb.inode_size
        self.has_filetype = bool(sb.s_feature_incompat & IncompatFeature.FILETYPE)
        self.readonly = bool(sb.s_feature_ro_compat & ~SUPPORTED_RO_COMPAT)
        self.ngroups = sb.group_count
        self._gdt = bytearray()
        for i in range(ceil_div(self.ngroups * GROUP_DESC_SIZE, self.block_size)):
            self._gdt += yield from self.dev.read_block(self._gdt_start + i)
        self.groups = [GroupDesc.from_buffer(self._gdt, g * GROUP_DESC_SIZE) for g in range(self.ngroups)]
        self._check_groups()
        root = yield from self._iget(ROOT)
        if not is_dir(root):
            raise Ext2Error("corrupt file system: the root inode is not a directory", Errno.EIO)
        if self.readonly:
            return
        clean = bool(sb.s_state & State.VALID)
        sb.s_state &= ~State.VALID          # on the disk before anything changes (Linux too)
        yield from self._write_super(ordered=True)
        if clean:
            yield from self.recover_orphans()
            return
        try:
            yield from self.repair()        # a crash while mounted: ext2_check.py
        except FsError as damage:           # (Ext2Error too) more than a crash explains
            self.readonly = True
            self._inodes.clear()
            self._dir_indexes.clear()
            self.repaired = f'not clean and the check failed ({damage}): mounted read-only'

    def _check_groups(self):
        inode_table_blocks = ceil_div(self.sb.s_inodes_per_group * self.inode_size, self.block_size)
        for g, desc in enumerate(self.groups):
            for blockno in (desc.bg_block_bitmap, desc.bg_inode_bitmap,
                            desc.bg_inode_table + inode_table_blocks - 1):
                if not self.sb.s_first_data_block < blockno < self.sb.s_blocks_count:
                    raise Ext2Error(f"corrupt group descriptor {g}: block {blockno} out of range",
                                    Errno.EIO)

    @property
    def _gdt_start(self) -> int:
        return self.sb.s_first_data_block + 1

    def sync(self):
        """Write the superblock and group descriptors back if they changed."""
        if not self._dirty or self.readonly:
            return
        bs = self.block_size
        for i in range(len(self._gdt) // bs):
            yield from self.dev.write_meta(self._gdt_start + i, bytes(self._gdt[i * bs:(i + 1) * bs]))
        yield from self._write_super()
        self._dirty = False

    def _write_super(self, ordered: bool = False):
        self.sb.s_wtime = self.now()
        sb_block, sb_offset = divmod(SUPERBLOCK_OFFSET, self.block_size)
        block = bytearray((yield from self.dev.read_block(sb_block)))
        block[sb_offset:sb_offset + SUPERBLOCK_SIZE] = bytes(self.sb)
        write = self.dev.write_ordered if ordered else self.dev.write_meta
        yield from write(sb_block, bytes(block))

    def unmount(self):
        """Write everything back; only then may the superblock say the fs is clean."""
        if self.readonly:
            return
        yield from self.sync()
        yield from self.dev.sync()
        self.sb.s_state |= State.VALID
        yield from self._write_super(ordered=True)

    def statfs(self) -> StatFs:
        """Sizes and free counts (kept in memory, so this is a plain call, not a generator)."""
        sb = self.sb
        return StatFs(self.block_size, sb.s_blocks_count, sb.s_free_blocks_count,
                      sb.s_inodes_count, sb.s_free_inodes_count, sb.s_r_blocks_count)

    def _check_writable(self):
        if self.readonly:
            raise FsError(Errno.EROFS, "file system has read-only-compatible features we lack")

    # ---- inodes --------------------------------------------------------------------

    def _inode_location(self, ino: int) -> tuple[int, int]:
        if not 1 <= ino <= self.sb.s_inodes_count:
            raise Ext2Error(f"corrupt file system: inode number {ino} out of range", Errno.EIO)
        group, index = divmod(ino - 1, self.sb.s_inodes_per_group)
        block, offset = divmod(index * self.inode_size, self.block_size)
        return self.groups[group].bg_inode_table + block, offset

    def _iget(self, ino: int):
        """The in-memory inode; every caller shares the same object so none goes stale."""
        if ino not in self._inodes:
            blockno, offset = self._inode_location(ino)
            data = yield from self.dev.read_block(blockno)
            inode = Inode.from_buffer_copy(data, offset)
            inode.ino = ino             # not on disk: remembered for allocation goals
            if inode.i_flags & (InodeFlag.EXTENTS | InodeFlag.INLINE_DATA):
                raise Ext2Error(f"inode {ino} uses ext4 extents or inline data", Errno.EIO)
            self._inodes[ino] = inode
        return self._inodes[ino]

    def _write_inode(self, ino: int, clear_slot: bool = False, ordered: bool = False):
        """Write inode ino back; clear_slot also zeroes the slot's bytes past the first 128;
        ordered: on the disk when this returns (something that follows depends on it)."""
        blockno, offset = self._inode_location(ino)
        block = bytearray((yield from self.dev.read_block(blockno)))
        if clear_slot:
            block[offset:offset + self.inode_size] = bytes(self.inode_size)
        block[offset:offset + GOOD_OLD_INODE_SIZE] = bytes(self._inodes[ino])
        write = self.dev.write_ordered if ordered else self.dev.write_meta
        yield from write(blockno, bytes(block))

    def _touch(self, inode: Inode, *, modified: bool = True):
        now = self.now()
        inode.i_ctime = now
        if modified:
            inode.i_mtime = now

    def _size(self, inode: Inode) -> int:
        high = inode.i_size_high if inode.i_mode & S_IFMT == InodeType.S_IFREG else 0
        return high << 32 | inode.i_size

    def _set_size(self, inode: Inode, size: int):
        inode.i_size, inode.i_size_high = size & 0xFFFFFFFF, size >> 32
        if size >= 1 << 31 and not self.sb.s_feature_ro_compat & RoCompatFeature.LARGE_FILE:
            self.sb.s_feature_ro_compat |= RoCompatFeature.LARGE_FILE
            self._dirty = True

    def _new_inode(self, parent: int, mode: int, uid: int, gid: int):
        """Allocate and initialise an inode in memory; returns (ino, inode) with no links
        yet.  The caller writes it (clearing the slot) once it is filled in."""
        ino = yield from self._alloc_inode(parent, mode & S_IFMT == InodeType.S_IFDIR)
        inode = Inode(i_mode=mode, i_uid=uid & 0xFFFF, l_i_uid_high=uid >> 16,
                      i_gid=gid & 0xFFFF, l_i_gid_high=gid >> 16)
        inode.ino = ino
        inode.i_atime = inode.i_ctime = inode.i_mtime = self.now()
        self._inodes[ino] = inode
        return ino, inode

    def _destroy_inode(self, ino: int, inode: Inode):
        """Free an inode that has no links left, with its blocks."""
        if has_block_map(inode, self.block_size):
            yield from self._free_file_blocks(inode, 0)
        yield from self._drop_xattr_block(inode)
        inode.i_links_count = 0
        inode.i_dtime = self.now() or 1     # e2fsck treats dtime 0 as "still in use"
        self._set_size(inode, 0)
        yield from self._write_inode(ino)
        del self._inodes[ino]
        self.forget_dir(ino)
        yield from self._free_inode(ino, is_dir(inode))

    def _drop_xattr_block(self, inode: Inode):
        blockno = inode.i_file_acl
        if not blockno:
            return
        block = bytearray((yield from self.dev.read_block(blockno)))
        header = XattrHeader.from_buffer(block)
        if header.h_magic == EA_MAGIC and header.h_refcount > 1:
            header.h_refcount -= 1          # still shared by other inodes
            yield from self.dev.write_meta(blockno, bytes(block))
        else:
            yield from self._free_blocks([blockno])
        inode.i_file_acl = 0
        inode.i_blocks -= self.block_size // 512

    def _drop_link(self, ino: int, inode: Inode, detach):
        """Take one name from inode ino; the generator function detach() removes (or
        repoints) the directory entry.  The last name: the inode is deleted (or, if open,
        put on the orphan list) on the disk first, then the entry goes, then its space."""
        inode.i_links_count -= 1
        self._touch(inode, modified=False)
        if inode.i_links_count:
            yield from detach()             # a link count too high is what e2fsck -p fixes
            yield from self._write_inode(ino)
            return
        if self.in_use(ino):
            yield from self._unlinked(ino, inode)
            yield from detach()
            return
        inode.i_dtime = self.now() or 1     # deleted on the disk: its entry is now dangling
        yield from self._write_inode(ino, ordered=True)
        yield from detach()
        yield from self._destroy_inode(ino, inode)

    # ---- file data -----------------------------------------------------------------

    def _regular_file(self, ino: int):
        inode = yield from self._iget(ino)
        if is_dir(inode):
            raise FsError(Errno.EISDIR)
        if inode.i_mode & S_IFMT != InodeType.S_IFREG:
            raise FsError(Errno.EINVAL)
        return inode

    def read(self, ino: int, offset: int, length: int):
        """Up to length bytes of file ino from offset; fewer at end of file, holes read as 0."""
        runs, skip, nbytes = yield from self.read_runs(ino, offset, length)
        return (yield from self._gather(runs, skip, nbytes))

    def read_runs(self, ino: int, offset: int, length: int):
        """Where bytes offset..offset+length of file ino are, for a reader that copies
        them from the cache itself: (runs, skip, nbytes), runs [(disk block or 0 for a
        hole, count)] covering whole blocks, the wanted bytes starting `skip` bytes into
        them and running `nbytes` (clipped at the end of the file)."""
        inode = yield from self._regular_file(ino)
        if offset < 0 or length < 0:
            raise FsError(Errno.EINVAL)
        end = min(offset + length, self._size(inode))
        if end <= offset:
            return [], 0, 0
        runs, skip = yield from self._byte_runs(inode, offset, end)
        return runs, skip, end - offset

    def _read_data(self, inode: Inode, start: int, end: int):
        runs, skip = yield from self._byte_runs(inode, start, end)
        return (yield from self._gather(runs, skip, end - start))

    def _byte_runs(self, inode: Inode, start: int, end: int):
        """The block runs covering bytes start..end, and where start falls in the first."""
        bs = self.block_size
        first = start // bs
        runs = yield from self._block_runs(inode, first, -(-end // bs) - first)
        return runs, start - first * bs

    def _gather(self, runs, skip: int, nbytes: int):
        """The bytes skip..skip+nbytes of the block runs (holes read as zeros)."""
        out = bytearray()
        for blockno, count in runs:
            out += (yield from self.dev.read_run(blockno, count)) if blockno else bytes(count * self.block_size)
        return bytes(out[skip:skip + nbytes])

    def allocate(self, ino: int, first: int, count: int):
        """Give logical blocks first..first+count-1 disk blocks (their contents are left for
        the caller's DMA to fill), grow the size to cover them, and return the block
        numbers: direct I/O and ukern_awrite write user pages straight to them."""
        self._check_writable()
        inode = yield from self._regular_file(ino)
        out = []
        lbn = first
        while lbn < first + count:
            runs, mapped = yield from self._map_blocks(inode, lbn, first + count - lbn)
            for blockno, n in runs:
                out.extend(range(blockno, blockno + n))
            lbn += mapped
        end = (first + count) * self.block_size
        if end > self._size(inode):
            self._set_size(inode, end)
        self._touch(inode)
        yield from self._write_inode(ino)
        return out

    def write(self, ino: int, offset: int, data: bytes):
        """Write data at offset, allocating blocks; returns the count (short if the disk fills)."""
        self._check_writable()
        inode = yield from self._regular_file(ino)
        if offset < 0:
            raise FsError(Errno.EINVAL)
        written, error = 0, None
        try:
            written = yield from self._write_data(inode, offset, memoryview(data))
        except FsError as failure:
            written, error = failure.written, failure
        if offset + written > self._size(inode):
            self._set_size(inode, offset + written)
        self._touch(inode)
        yield from self._write_inode(ino)
        if error and not written:
            raise error
        return written

    def _write_data(self, inode: Inode, offset: int, data: memoryview):
        """Copy data into the file's blocks; a failure carries the bytes done as .written."""
        bs = self.block_size
        done, goal = 0, 0
        try:
            while done < len(data):
                lbn, within = divmod(offset + done, bs)
                whole = 0 if within else (len(data) - done) // bs
                if whole:                   # whole blocks: mapped, then written, by runs
                    runs, _ = yield from self._map_blocks(inode, lbn, whole, goal)
                    for blockno, n in runs:
                        yield from self.dev.write_run(blockno, data[done:done + n * bs])
                        done, goal = done + n * bs, blockno + n
                    continue
                count = min(bs - within, len(data) - done)
                blockno, fresh = yield from self._bmap(inode, lbn, create=True, goal=goal)
                block = bytearray(bs) if fresh else bytearray((yield from self.dev.read_block(blockno)))
                block[within:within + count] = data[done:done + count]
                yield from self.dev.write_block(blockno, bytes(block))
                done, goal = done + count, blockno + 1
        except FsError as failure:
            failure.written = done
            raise
        return done

    def truncate(self, ino: int, size: int):
        """Set the size of file ino, freeing the blocks (and indirect blocks) past it."""
        self._check_writable()
        inode = yield from self._regular_file(ino)
        if size < 0:
            raise FsError(Errno.EINVAL)
        if size:
            self._block_path((size - 1) // self.block_size)     # EFBIG if unaddressable
        if size < self._size(inode):
            yield from self._free_file_blocks(inode, ceil_div(size, self.block_size))
            yield from self._zero_tail(inode, size)
        self._set_size(inode, size)
        self._touch(inode)
        yield from self._write_inode(ino)

    def _zero_tail(self, inode: Inode, size: int):
        """Zero the last block past size, so growing the file again reads zeros there."""
        lbn, within = divmod(size, self.block_size)
        if not within:
            return
        blockno, _ = yield from self._bmap(inode, lbn)
        if blockno:
            block = bytearray((yield from self.dev.read_block(blockno)))
            block[within:] = bytes(self.block_size - within)
            yield from self.dev.write_block(blockno, bytes(block))

    def stat(self, ino: int):
        inode = yield from self._iget(ino)
        kind = inode.i_mode & S_IFMT
        major, minor = decode_device(inode) if kind in (InodeType.S_IFCHR, InodeType.S_IFBLK) else (0, 0)
        return Stat(ino=ino, mode=inode.i_mode, nlink=inode.i_links_count,
                    uid=inode.l_i_uid_high << 16 | inode.i_uid,
                    gid=inode.l_i_gid_high << 16 | inode.i_gid, size=self._size(inode),
                    atime=inode.i_atime, mtime=inode.i_mtime, ctime=inode.i_ctime,
                    blocks=inode.i_blocks, rdev_major=major, rdev_minor=minor)

    # ---- directories -----------------------------------------------------------------

    def lookup(self, path: str | bytes, cwd_ino: int = ROOT):
        """Inode number of path, absolute or relative to directory cwd_ino (no symlinks)."""
        path = path.encode() if isinstance(path, str) else path
        if not path:
            raise FsError(Errno.ENOENT)
        ino = ROOT if path.startswith(b"/") else cwd_ino
        for part in path.split(b"/"):
            if part:
                ino = yield from self._lookup_in(ino, part)
        return ino


    # ---- namespace operations ----------------------------------------------------------

    @staticmethod
    def _name(name: str | bytes) -> bytes:
        name = name.encode(errors="surrogateescape") if isinstance(name, str) else bytes(name)
        if not name:
            raise FsError(Errno.ENOENT)
        if b"/" in name or b"\0" in name:
            raise FsError(Errno.EINVAL)
        if len(name) > NAME_MAX:
            raise FsError(Errno.ENAMETOOLONG)
        return name

    def _make_node(self, dir_ino: int, name, mode: int, uid: int, gid: int, fill=None):
        """Allocate an inode, let fill(ino, inode) set it up, and link it into the directory."""
        name = self._name(name)
        self._check_writable()
        dir_inode = yield from self._live_directory(dir_ino)
        if (yield from self._find_entry(dir_inode, name)) is not None:
            raise FsError(Errno.EEXIST)
        ino, inode = yield from self._new_inode(dir_ino, mode, uid, gid)
        inode.i_links_count = 1
        try:
            if fill:
                yield from fill(ino, inode)
            yield from self._add_entry(dir_ino, dir_inode, name, ino, file_type(mode))
        except FsError:
            inode.i_links_count = 0
            yield from self._destroy_inode(ino, inode)
            raise
        # after its name (ext2.py's header); a directory's before anything goes in it
        yield from self._write_inode(ino, clear_slot=True, ordered=is_dir(inode))
        return ino

    def create(self, dir_ino: int, name, mode: int = 0o644, uid: int = 0, gid: int = 0):
        """Make an empty regular file; returns its inode number."""
        return (yield from self._make_node(dir_ino, name, InodeType.S_IFREG | mode & S_IPERM, uid, gid))

    def mknod(self, dir_ino: int, name, mode: int, major: int = 0, minor: int = 0,
              uid: int = 0, gid: int = 0):
        """Make a device node, fifo or socket (mode includes the type); returns its inode."""
        if mode & S_IFMT not in (InodeType.S_IFCHR, InodeType.S_IFBLK, InodeType.S_IFIFO,
                                 InodeType.S_IFSOCK, InodeType.S_IFREG):
            raise FsError(Errno.EINVAL)

        def fill(ino, inode):
            if mode & S_IFMT in (InodeType.S_IFCHR, InodeType.S_IFBLK):
                inode.i_block[0], inode.i_block[1] = encode_device(major, minor)
            return
            yield  # a generator, like every fill
        return (yield from self._make_node(dir_ino, name, mode, uid, gid, fill))

    def mkdir(self, dir_ino: int, name, mode: int = 0o755, uid: int = 0, gid: int = 0):
        """Make a directory holding "." and ".."; returns its inode number."""
        parent = yield from self._directory(dir_ino)
        if parent.i_links_count >= LINK_MAX:
            raise FsError(Errno.EMLINK)

        def fill(ino, inode):
            blockno, _ = yield from self._bmap(inode, 0, create=True)
            kind = FileType.DIR if self.has_filetype else 0
            block = new_dir_block(self.block_size, [(ino, b".", kind), (dir_ino, b"..", kind)])
            yield from self.dev.write_block(blockno, bytes(block))
            self._set_size(inode, self.block_size)
            inode.i_links_count = 2           # its entry in the parent, and its own "."
        ino = yield from self._make_node(dir_ino, name, InodeType.S_IFDIR | mode & S_IPERM, uid, gid, fill)
        parent.i_links_count += 1             # the new directory's ".."
        yield from self._write_inode(dir_ino)
        return ino

    def unlink(self, dir_ino: int, name):
        """Remove a non-directory entry; the inode goes when its last link does."""
        name = self._name(name)
        self._check_writable()
        dir_inode = yield from self._directory(dir_ino)
        slot = yield from self._find_entry(dir_inode, name)
        if slot is None:
            raise FsError(Errno.ENOENT)
        ino = slot.header.inode
        inode = yield from self._iget(ino)
        if is_dir(inode):
            raise FsError(Errno.EISDIR)
        yield from self._drop_link(ino, inode, lambda: self._remove_entry(dir_ino, dir_inode, slot))

    def rmdir(self, dir_ino: int, name):
        """Remove an empty directory."""
        name = self._name(name)
        if name in (b".", b".."):
            raise FsError(Errno.EINVAL)
        self._check_writable()
        dir_inode = yield from self._directory(dir_ino)
        slot = yield from self._find_entry(dir_inode, name)
        if slot is None:
            raise FsError(Errno.ENOENT)
        ino = slot.header.inode
        inode = yield from self._directory(ino)
        if not (yield from self._is_empty_dir(inode)):
            raise FsError(Errno.ENOTEMPTY)
        yield from self._kill_dir(ino, inode, lambda: self._remove_entry(dir_ino, dir_inode, slot))
        dir_inode.i_links_count -= 1          # its ".." is gone
        yield from self._write_inode(dir_ino)

    def _kill_dir(self, ino: int, inode: Inode, detach):
        """Delete an empty directory: dead on the disk, then its entry goes, then its space."""
        inode.i_links_count = 0
        inode.i_dtime = self.now() or 1
        yield from self._write_inode(ino, ordered=True)
        yield from detach()
        yield from self._destroy_inode(ino, inode)

    def rename(self, old_dir: int, old_name, new_dir: int, new_name):
        """Move an entry, replacing a file (or empty directory) already called new_name."""
        old_name, new_name = self._name(old_name), self._name(new_name)
        if {old_name, new_name} & {b".", b".."}:
            raise FsError(Errno.EINVAL)
        self._check_writable()
        old_parent = yield from self._directory(old_dir)
        new_parent = yield from self._directory(new_dir)
        source = yield from self._find_entry(old_parent, old_name)
        if source is None:
            raise FsError(Errno.ENOENT)
        ino = source.header.inode
        inode = yield from self._iget(ino)
        moving_dir, changing_parent = is_dir(inode), old_dir != new_dir
        if moving_dir and changing_parent and (yield from self._is_ancestor(ino, new_dir)):
            raise FsError(Errno.EINVAL)       # a directory cannot move inside itself
        target = yield from self._find_entry(new_parent, new_name)
        if target is not None:
            if target.header.inode == ino:
                return
            yield from self._replace_target(new_dir, new_parent, target, ino, inode)
        else:
            if moving_dir and changing_parent and new_parent.i_links_count >= LINK_MAX:
                raise FsError(Errno.EMLINK)
            yield from self._add_entry(new_dir, new_parent, new_name, ino, file_type(inode.i_mode))
        # look again: adding the new entry may have rewritten the block holding the old one
        source = yield from self._find_entry(old_parent, old_name)
        yield from self._remove_entry(old_dir, old_parent, source)
        if moving_dir and changing_parent:
            yield from self._set_dotdot(inode, new_dir)
            old_parent.i_links_count -= 1
            new_parent.i_links_count += 1
            yield from self._write_inode(old_dir)
            yield from self._write_inode(new_dir)
        self._touch(inode, modified=False)
        yield from self._write_inode(ino)

    def _replace_target(self, new_dir: int, new_parent: Inode, target: DirSlot, ino: int, inode: Inode):
        """Point the existing entry `target` at ino, dropping what it named before."""
        victim_ino = target.header.inode
        victim = yield from self._iget(victim_ino)
        if is_dir(inode) and not is_dir(victim):
            raise FsError(Errno.ENOTDIR)
        if not is_dir(inode) and is_dir(victim):
            raise FsError(Errno.EISDIR)
        if is_dir(victim) and not (yield from self._is_empty_dir(victim)):
            raise FsError(Errno.ENOTEMPTY)

        def repoint():
            target.header.inode = ino
            target.header.file_type = file_type(inode.i_mode) if self.has_filetype else 0
            yield from self.dev.write_ordered(target.blockno, bytes(target.block))
            self._entry_repointed(new_parent, target)
            yield from self._dir_changed(new_dir, new_parent)
        if is_dir(victim):
            yield from self._kill_dir(victim_ino, victim, repoint)
            new_parent.i_links_count -= 1     # the victim's ".." is gone
            yield from self._write_inode(new_dir)
        else:
            yield from self._drop_link(victim_ino, victim, repoint)

    def _is_ancestor(self, ino: int, dir_ino: int):
        """Is directory ino dir_ino itself or above it?  Walks ".." up to the root."""
        for _ in range(MAX_PATH_DEPTH):
            if dir_ino == ino:
                return True
            if dir_ino == ROOT:
                return False
            dir_ino = yield from self._lookup_in(dir_ino, b"..")
        raise FsError(Errno.ELOOP)

    def _set_dotdot(self, inode: Inode, parent: int):
        slot = yield from self._find_entry(inode, b"..")
        if slot is None:
            raise Ext2Error("corrupt directory: no '..' entry", Errno.EIO)
        slot.header.inode = parent
        yield from self.dev.write_ordered(slot.blockno, bytes(slot.block))
        self._entry_repointed(inode, slot)
