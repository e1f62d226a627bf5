"""ext2 directories: finding, adding and removing entries, through a name cache.

A mixin of the Ext2 class (ext2.py), like ext2_alloc.py.

An ext2 directory is a linear list of records (ext2_layout.py), so finding a name on the
disk means reading every block, and finding room for a new one means reading blocks until
one has a gap: creating N files in one directory would cost N^2.  Like Linux's dentry
cache, each directory used recently has a DirIndex built by one scan of its blocks:

    names   name -> (inode, block of the directory, offset of the record)
    gaps    per block of the directory, {offset: room} of the records with room for an
            entry after them (an unused record, or a live one longer than its name)
    room    per block, its largest gap

A lookup is then one dictionary probe, a missing name needs no disk at all, and a new
entry goes straight to a gap that fits it, in the first block with one.  Every change to a directory goes through this
file (or _replace_target / _set_dotdot in ext2.py), which keeps the index in step with
the blocks; the on-disk format does not change.  An index is dropped when its directory
is freed, when the least recently used indexes pass DCACHE_MAX_NAMES names together,
under memory pressure (drop_dir_cache, a reclaim shrinker), and when what it says does
not match the block it points at (the directory changed behind it): the next use builds
it again from the disk.
"""

import dataclasses
from itertools import compress, count

from kernel.errno import Errno
from kernel.fs.ext2_layout import (
    DIR_ENTRY_HEADER_SIZE, NAME_MAX, DirEntryHeader, FileType, Inode, InodeFlag, dir_entry_size,
    dir_records, fill_gap, is_dir, new_dir_block, record_before, record_room, remove_dir_entry,
)
from kernel.fs.fserror import Ext2Error, FsError

SECTOR = 512                  # what a disk writes whole even when the power fails (emu/powerfail.py)
DCACHE_MAX_NAMES = 1 << 16    # names cached over all directories (about 10 MiB of host memory)
MIN_GAP = dir_entry_size(1)   # the smallest record: less room than this is no gap


@dataclasses.dataclass
class DirSlot:
    """Where a directory entry was found: the block (a copy to edit and write back) and offsets."""
    blockno: int
    block: bytearray
    offset: int
    prev_offset: int | None   # None when the entry starts its block
    header: DirEntryHeader
    lbn: int = 0              # which block of the directory
    name: bytes = b""


class DirIndex:
    """One directory's names and the gaps in each of its blocks."""
    __slots__ = ("inode", "names", "gaps", "room")

    def __init__(self, inode: Inode):
        self.inode = inode    # the in-memory inode it describes: a reused number is a new one
        self.names: dict[bytes, tuple[int, int, int]] = {}     # name -> (ino, lbn, offset)
        self.gaps: list[dict[int, int]] = []                    # lbn -> {offset: room}
        self.room: list[int] = []                               # lbn -> largest gap

    def add_block(self, gaps: dict[int, int]) -> None:
        self.gaps.append(gaps)
        self.room.append(max(gaps.values(), default=0))

    def block_with_room(self, need: int) -> int | None:
        """The first block whose largest gap holds `need` bytes (a C-speed scan)."""
        return next(compress(count(), map(need.__le__, self.room)), None)

    def gap_for(self, lbn: int, need: int) -> tuple[int, int]:
        """(offset, room) of the first record in block lbn with room for `need` bytes."""
        return min((offset, room) for offset, room in self.gaps[lbn].items() if room >= need)

    def set_gap(self, lbn: int, offset: int, room: int) -> None:
        """The record at offset now has `room` bytes after its name (0: none, or gone)."""
        gaps = self.gaps[lbn]
        if room >= MIN_GAP:
            gaps[offset] = room
        else:
            gaps.pop(offset, None)
        self.room[lbn] = max(gaps.values(), default=0)


class Directories:
    # ---- the index -------------------------------------------------------------------

    def _dir_index(self, dir_inode: Inode):
        """The DirIndex of a directory, built by reading it if it is not cached."""
        index = self._dir_indexes.get(dir_inode.ino)
        nblocks = self._size(dir_inode) // self.block_size
        if index is not None and index.inode is dir_inode and len(index.room) == nblocks:
            self._dir_indexes.move_to_end(dir_inode.ino)
            return index
        index = DirIndex(dir_inode)
        for lbn in range(nblocks):
            _, block = yield from self._dir_block(dir_inode, lbn)
            gaps = {}
            for offset, ino, rec_len, name_len in self._checked(dir_records, block):
                if ino:
                    start = offset + DIR_ENTRY_HEADER_SIZE
                    index.names.setdefault(bytes(block[start:start + name_len]), (ino, lbn, offset))
                room = record_room(ino, rec_len, name_len)
                if room >= MIN_GAP:
                    gaps[offset] = room
            index.add_block(gaps)
        self._dir_indexes[dir_inode.ino] = index
        self._trim_dir_cache(dir_inode.ino)
        return index

    def _cached_index(self, dir_inode: Inode) -> DirIndex | None:
        """The directory's index if one is cached and current (to update it in step)."""
        index = self._dir_indexes.get(dir_inode.ino)
        return index if index is not None and index.inode is dir_inode else None

    def _trim_dir_cache(self, keep: int) -> None:
        total = sum(len(index.names) for index in self._dir_indexes.values())
        while total > DCACHE_MAX_NAMES and len(self._dir_indexes) > 1:
            ino, index = next(iter(self._dir_indexes.items()))
            if ino == keep:
                self._dir_indexes.move_to_end(ino)
                continue
            del self._dir_indexes[ino]
            total -= len(index.names)

    def forget_dir(self, ino: int) -> None:
        self._dir_indexes.pop(ino, None)

    def drop_dir_cache(self, want: int = 0) -> int:
        """Memory is short: drop every directory index (a reclaim shrinker; the indexes
        live in host memory, so no guest frames come back)."""
        self._dir_indexes.clear()
        return 0

    # ---- blocks -----------------------------------------------------------------------

    def _directory(self, ino: int):
        inode = yield from self._iget(ino)
        if not is_dir(inode):
            raise FsError(Errno.ENOTDIR)
        return inode

    def _dir_block(self, inode: Inode, lbn: int):
        blockno, _ = yield from self._bmap(inode, lbn)
        if not blockno:
            raise Ext2Error(f"corrupt directory: hole at block {lbn}", Errno.EIO)
        return blockno, bytearray((yield from self.dev.read_block(blockno)))

    @staticmethod
    def _checked(walk, block: bytearray, *args):
        """Run a directory-block function, turning a malformed block into EIO."""
        try:
            return walk(block, *args)
        except ValueError as err:
            raise Ext2Error(f"corrupt directory: {err}", Errno.EIO) from None

    @staticmethod
    def _entry_type(file_type: int) -> FileType:
        return FileType(file_type) if file_type in iter(FileType) else FileType.UNKNOWN

    def _live_entries(self, block: bytearray, lbn: int):
        """[(name, ino, FileType, position, rec_len)] of the live records of block lbn."""
        out = []
        base = lbn * self.block_size
        for offset, ino, rec_len, name_len in self._checked(dir_records, block):
            if ino:
                start = offset + DIR_ENTRY_HEADER_SIZE
                out.append((bytes(block[start:start + name_len]), ino,
                            self._entry_type(block[offset + 7]), base + offset, rec_len))
        return out

    # ---- entries ----------------------------------------------------------------------

    def _find_entry(self, dir_inode: Inode, name: bytes):
        """The DirSlot of the live entry called name, or None."""
        for _ in range(2):
            index = yield from self._dir_index(dir_inode)
            hit = index.names.get(name)
            if hit is None:
                return None
            ino, lbn, offset = hit
            blockno, block = yield from self._dir_block(dir_inode, lbn)
            slot = self._slot_at(block, blockno, lbn, offset, ino, name)
            if slot is not None:
                return slot
            self.forget_dir(dir_inode.ino)     # the block says otherwise: read it again
        raise Ext2Error("corrupt directory: an entry moved while it was read", Errno.EIO)

    @staticmethod
    def _slot_at(block: bytearray, blockno: int, lbn: int, offset: int, ino: int, name: bytes):
        """A DirSlot for the record at offset if it is the entry (name, ino), else None."""
        try:
            prev = record_before(block, offset)
        except ValueError:
            return None
        header = DirEntryHeader.from_buffer(block, offset)
        start = offset + DIR_ENTRY_HEADER_SIZE
        if header.inode != ino or bytes(block[start:start + header.name_len]) != name:
            return None
        return DirSlot(blockno, block, offset, prev, header, lbn, name)

    def _add_entry(self, dir_ino: int, dir_inode: Inode, name: bytes, ino: int, kind: FileType):
        """Enter (name, ino) in the first gap big enough of the first block with one (the
        index knows where), or in a new block at the end."""
        kind = kind if self.has_filetype else 0
        need = dir_entry_size(len(name))
        for _ in range(2):
            index = yield from self._dir_index(dir_inode)
            lbn = index.block_with_room(need)
            if lbn is None:
                return (yield from self._add_block(dir_ino, dir_inode, index, name, ino, kind))
            offset, room = index.gap_for(lbn, need)
            blockno, block = yield from self._dir_block(dir_inode, lbn)
            if self._room_at(block, offset) == room:
                before = bytes(block)
                new_offset, left = fill_gap(block, offset, ino, name, kind)
                yield from self._write_entry_block(blockno, before, block, new_offset, need)
                index.set_gap(lbn, offset, 0)
                index.set_gap(lbn, new_offset, left)
                index.names[name] = (ino, lbn, new_offset)
                return (yield from self._dir_changed(dir_ino, dir_inode))
            self.forget_dir(dir_inode.ino)     # the block says otherwise: read it again
        raise Ext2Error("corrupt directory: a gap moved while it was read", Errno.EIO)

    def _write_entry_block(self, blockno: int, before: bytes, after: bytearray, offset: int,
                           size: int):
        """Write a directory block that gained the entry at offset (size bytes), so that
        a torn write (whole sectors) leaves it valid: when the change spans sectors, the
        entry goes to the disk first unused (inode 0) in the slack, where no record
        reaches it, and only then the block as it is now, which differs from that in a
        record length and an inode number: each alone leaves the records sound."""
        changed = [i for i in range(0, len(after), SECTOR) if before[i:i + SECTOR] != after[i:i + SECTOR]]
        if len(changed) > 1:
            staged = bytearray(before)
            staged[offset:offset + size] = after[offset:offset + size]
            staged[offset:offset + 4] = bytes(4)          # the entry's inode: unused yet
            yield from self.dev.write_ordered(blockno, bytes(staged))
        yield from self.dev.write_ordered(blockno, bytes(after))

    def _room_at(self, block: bytearray, offset: int) -> int | None:
        """The room after the record at offset, or None if no record starts there."""
        try:
            record_before(block, offset)
        except ValueError:
            return None
        header = DirEntryHeader.from_buffer(block, offset)
        return record_room(header.inode, header.rec_len, header.name_len)

    def _add_block(self, dir_ino: int, dir_inode: Inode, index: DirIndex, name: bytes, ino: int,
                   kind: int):
        """A new last block for the directory, holding (name, ino)."""
        nblocks = len(index.room)
        blockno, _ = yield from self._bmap(dir_inode, nblocks, create=True)
        block = new_dir_block(self.block_size, [(ino, name, kind)])
        yield from self.dev.write_block(blockno, bytes(block))     # contents: before the size
        self._set_size(dir_inode, (nblocks + 1) * self.block_size)
        index.add_block({})
        index.set_gap(nblocks, 0, self.block_size - dir_entry_size(len(name)))
        index.names[name] = (ino, nblocks, 0)
        yield from self._dir_changed(dir_ino, dir_inode, ordered=True)

    def _remove_entry(self, dir_ino: int, dir_inode: Inode, slot: DirSlot):
        remove_dir_entry(slot.block, slot.offset, slot.prev_offset)
        yield from self.dev.write_ordered(slot.blockno, bytes(slot.block))   # gone before freed
        index = self._cached_index(dir_inode)
        if index is not None:
            index.names.pop(slot.name, None)
            # the gap is the freed record, or the record before it that swallowed it
            index.set_gap(slot.lbn, slot.offset, 0)
            grown = slot.offset if slot.prev_offset is None else slot.prev_offset
            index.set_gap(slot.lbn, grown, self._room_at(slot.block, grown))
        yield from self._dir_changed(dir_ino, dir_inode)

    def _entry_repointed(self, dir_inode: Inode, slot: DirSlot) -> None:
        """The entry at slot now names slot.header.inode (rename over it, a moved '..')."""
        index = self._cached_index(dir_inode)
        if index is not None:
            index.names[slot.name] = (slot.header.inode, slot.lbn, slot.offset)

    def _dir_changed(self, dir_ino: int, dir_inode: Inode, ordered: bool = False):
        # we keep directories linear, so any hash index mke2fs built is no longer valid
        dir_inode.i_flags &= ~InodeFlag.INDEX
        self._touch(dir_inode)
        yield from self._write_inode(dir_ino, ordered=ordered)

    def _is_empty_dir(self, inode: Inode):
        index = yield from self._dir_index(inode)
        return len(index.names) <= 2 and all(name in (b".", b"..") for name in index.names)

    def _lookup_in(self, dir_ino: int, name: bytes):
        dir_inode = yield from self._directory(dir_ino)
        if len(name) > NAME_MAX:
            raise FsError(Errno.ENAMETOOLONG)
        index = yield from self._dir_index(dir_inode)
        hit = index.names.get(name)
        if hit is None:
            raise FsError(Errno.ENOENT)
        return hit[0]

    def readdir(self, ino: int):
        """[(name, ino, FileType)] for every entry, "." and ".." included, in disk order."""
        inode = yield from self._directory(ino)
        listing = []
        for lbn in range(self._size(inode) // self.block_size):
            _, block = yield from self._dir_block(inode, lbn)
            listing += [(name.decode(errors="surrogateescape"), entry_ino, kind)
                        for name, entry_ino, kind, _, _ in self._live_entries(block, lbn)]
        return listing

    def readdir_at(self, ino: int, pos: int, budget: int | None = None):
        """[(name, ino, FileType, next position)] of the entries at or after byte position
        pos of directory ino; with a budget, only the blocks needed to fill that many
        bytes of linux_dirent64 records (getdents64's buffer), so reading a directory in
        pieces costs its size once, not once per piece.  Positions are where records sit
        in the directory, which removing or adding other entries never moves (removal
        folds a record into the one before it), so a reader that removes as it goes
        misses nothing."""
        inode = yield from self._directory(ino)
        bs = self.block_size
        listing, filled = [], 0
        for lbn in range(max(pos, 0) // bs, self._size(inode) // bs):
            if budget is not None and filled > budget:
                break
            _, block = yield from self._dir_block(inode, lbn)
            for name, entry_ino, kind, here, rec_len in self._live_entries(block, lbn):
                if here >= pos:
                    listing.append((name.decode(errors="surrogateescape"), entry_ino, kind,
                                    here + rec_len))
                    filled += (19 + len(name) + 1 + 7) & ~7     # its linux_dirent64
        return listing
