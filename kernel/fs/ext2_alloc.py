"""ext2's allocation and block map: bitmaps and free counts, logical -> disk blocks.

A mixin of the Ext2 class (ext2.py), split out so that each file stays readable: it uses
the mounted file system's superblock, group descriptors and block device from there.
"""

import array
from bisect import bisect_right
from itertools import repeat

from kernel.errno import Errno
from kernel.fs.ext2_layout import (
    DIND_BLOCK, IND_BLOCK, NDIR_BLOCKS, TIND_BLOCK, Inode, block_path, clear_run, find_zero_bit,
)
from kernel.fs.fserror import FsError, Ext2Error

LEAF_MEMO = 64      # indirect blocks whose runs are remembered (4 KiB of key each at most)


class Allocation:
    # ---- allocation: bitmaps and free counts -----------------------------------------

    def _blocks_in_group(self, group: int) -> int:
        sb = self.sb
        return min(sb.s_blocks_per_group,
                   sb.s_blocks_count - sb.s_first_data_block - group * sb.s_blocks_per_group)

    def _take_bit(self, bitmap_block: int, start: int, limit: int):
        """Set the first clear bit at or after start (wrapping) in a bitmap; -1 if full."""
        bitmap = bytearray((yield from self.dev.read_block(bitmap_block)))
        index = find_zero_bit(bitmap, start, limit)
        if index < 0 and start:
            index = find_zero_bit(bitmap, 0, start)
        if index >= 0:
            bitmap[index // 8] |= 1 << index % 8
            yield from self.dev.write_meta(bitmap_block, bytes(bitmap))
        return index

    def _count_blocks(self, group: int, delta: int):
        """Adjust free-block counts by delta (negative: blocks were taken)."""
        self.groups[group].bg_free_blocks_count += delta
        self.sb.s_free_blocks_count += delta
        self._dirty = True

    def _count_inodes(self, group: int, delta: int, directory: bool):
        self.groups[group].bg_free_inodes_count += delta
        if directory:
            self.groups[group].bg_used_dirs_count -= delta
        self.sb.s_free_inodes_count += delta
        self._dirty = True

    def _alloc_block(self, goal: int) -> int:
        """Take a free block, as close after goal as possible."""
        runs = yield from self._alloc_blocks(goal, 1)
        return runs[0][0]

    def _alloc_blocks(self, goal: int, want: int):
        """Take `want` free blocks, as close after goal and in as few runs as the bitmaps
        allow: from goal to the end of its group, then the group's start, then the next
        groups, one bitmap read and write per group.  Returns runs [(first block, count)]."""
        sb = self.sb
        if sb.s_free_blocks_count < want:
            raise FsError(Errno.ENOSPC)
        goal_group, start = divmod(max(goal - sb.s_first_data_block, 0), sb.s_blocks_per_group)
        runs: list[tuple[int, int]] = []
        for n in range(self.ngroups):
            group = (goal_group + n) % self.ngroups
            if self.groups[group].bg_free_blocks_count == 0:
                continue
            limit = self._blocks_in_group(group)
            first = start if n == 0 and start < limit else 0
            taken = yield from self._take_runs(group, [(first, limit), (0, first)], want, runs)
            want -= taken
            if not want:
                return runs
        raise Ext2Error("corrupt file system: free block count disagrees with bitmaps", Errno.EIO)

    def _take_runs(self, group: int, spans, want: int, runs: list):
        """Set up to want clear bits of a group's block bitmap, searching the spans
        [(start, limit)] in order; appends the runs taken and returns how many bits."""
        bitmap_block = self.groups[group].bg_block_bitmap
        raw = yield from self.dev.read_block(bitmap_block)
        bits, taken = int.from_bytes(raw, "little"), 0
        base = self.sb.s_first_data_block + group * self.sb.s_blocks_per_group
        for start, limit in spans:
            while taken < want:
                index, length = clear_run(bits, start, limit, want - taken)
                if index < 0:
                    break
                bits |= ((1 << length) - 1) << index
                runs.append((base + index, length))
                taken, start = taken + length, index + length
        if taken:
            yield from self.dev.write_meta(bitmap_block, bits.to_bytes(len(raw), "little"))
            self._count_blocks(group, -taken)
        return taken

    def _free_blocks(self, blocknos: list[int]):
        """Clear the bitmap bits of these blocks, one bitmap read and write per group."""
        sb = self.sb
        by_group: dict[int, list[int]] = {}
        for blockno in blocknos:
            if not sb.s_first_data_block <= blockno < sb.s_blocks_count:
                raise Ext2Error(f"corrupt file system: block {blockno} out of range", Errno.EIO)
            group, index = divmod(blockno - sb.s_first_data_block, sb.s_blocks_per_group)
            by_group.setdefault(group, []).append(index)
        for group, indexes in sorted(by_group.items()):
            bitmap_block = self.groups[group].bg_block_bitmap
            bitmap = bytearray((yield from self.dev.read_block(bitmap_block)))
            for index in indexes:
                bitmap[index // 8] &= ~(1 << index % 8)
            yield from self.dev.write_meta(bitmap_block, bytes(bitmap))
            self._count_blocks(group, len(indexes))

    def _alloc_inode(self, parent: int, directory: bool) -> int:
        """Take a free inode: a file goes in its parent's group, a directory where space is."""
        if self.sb.s_free_inodes_count == 0:
            raise FsError(Errno.ENOSPC)
        per_group = self.sb.s_inodes_per_group
        first = self._roomiest_group() if directory else (parent - 1) // per_group
        for n in range(self.ngroups):
            group = (first + n) % self.ngroups
            if self.groups[group].bg_free_inodes_count == 0:
                continue
            index = yield from self._take_bit(self.groups[group].bg_inode_bitmap, 0, per_group)
            if index >= 0:
                self._count_inodes(group, -1, directory)
                return group * per_group + index + 1
        raise Ext2Error("corrupt file system: free inode count disagrees with bitmaps", Errno.EIO)

    def _roomiest_group(self) -> int:
        """Spread directories out: fewest directories among groups with average free inodes."""
        average = self.sb.s_free_inodes_count / self.ngroups
        groups = range(self.ngroups)
        candidates = [g for g in groups if self.groups[g].bg_free_inodes_count >= max(average, 1)]
        return min(candidates or groups, key=lambda g: (self.groups[g].bg_used_dirs_count,
                                                        -self.groups[g].bg_free_blocks_count))

    def _free_inode(self, ino: int, directory: bool):
        group, index = divmod(ino - 1, self.sb.s_inodes_per_group)
        bitmap_block = self.groups[group].bg_inode_bitmap
        bitmap = bytearray((yield from self.dev.read_block(bitmap_block)))
        bitmap[index // 8] &= ~(1 << index % 8)
        yield from self.dev.write_meta(bitmap_block, bytes(bitmap))
        self._count_inodes(group, 1, directory)

    # ---- the block map: logical block -> disk block ----------------------------------

    def _block_path(self, lbn: int) -> tuple[int, tuple[int, ...]]:
        path = block_path(lbn, self.ptrs_per_block)
        if path is None:
            raise FsError(Errno.EFBIG)
        return path

    def _read_pointers(self, blockno: int) -> array.array:
        # ext2 is little-endian, as is every machine ukern runs on
        return array.array("I", (yield from self.dev.read_block(blockno)))

    def _bmap(self, inode: Inode, lbn: int, create: bool = False, goal: int = 0):
        """Disk block holding logical block lbn (0 for a hole), allocating it if create.

        Returns (blockno, fresh); fresh means it was just allocated and holds garbage.
        """
        slot, path = self._block_path(lbn)
        return (yield from self._walk(inode, slot, path, create, goal, to_data=True))

    def _walk(self, inode: Inode, slot: int, path: tuple[int, ...], create: bool, goal: int,
              to_data: bool):
        """Follow i_block[slot] through the indirect blocks' entries `path` to the block
        at the end: a data block if to_data, else the indirect block whose entries point
        at data.  Missing blocks on the way are allocated if create (indirect blocks
        start zeroed).  Returns (blockno or 0, whether the last one is new)."""
        goal = goal or self._group_start(inode)
        blockno = inode.i_block[slot]
        fresh = False
        if not blockno:
            if not create:
                return 0, False
            # check for room for the whole chain first, so a failure leaves nothing dangling
            self._reserve_blocks(1 + len(path))
            blockno = yield from self._alloc_file_block(inode, goal, zeroed=bool(path) or not to_data)
            inode.i_block[slot], fresh = blockno, True
        for depth, index in enumerate(path):
            pointers = yield from self._read_pointers(blockno)
            if not pointers[index]:
                if not create:
                    return 0, False
                self._reserve_blocks(len(path) - depth)
                last = depth + 1 == len(path)
                pointers[index] = yield from self._alloc_file_block(
                    inode, blockno + 1, zeroed=not (last and to_data))
                yield from self.dev.write_meta(blockno, pointers.tobytes())
                fresh = True
            blockno = pointers[index]
        return blockno, fresh

    def _map_blocks(self, inode: Inode, lbn: int, count: int, goal: int = 0):
        """Give logical blocks lbn.. disk blocks for a write that covers each of them
        whole (so new ones are not zeroed): at most count of them, and no further than
        the end of the indirect block that maps lbn, whose holes get one allocation and
        one rewrite.  Fewer if the disk is nearly full (ENOSPC if not even one fits).
        Returns (runs [(first disk block, count)], how many logical blocks they cover)."""
        slot, path = self._block_path(lbn)
        if not path:                                    # a direct block: one at a time
            blockno, _ = yield from self._bmap(inode, lbn, create=True, goal=goal)
            return [(blockno, 1)], 1
        leaf, _ = yield from self._walk(inode, slot, path[:-1], True, goal, to_data=False)
        pointers = yield from self._read_pointers(leaf)
        lo = path[-1]
        take = min(self.ptrs_per_block - lo, count)
        holes = [i for i in range(lo, lo + take) if not pointers[i]]
        room = self.sb.s_free_blocks_count
        if len(holes) > room:                           # stop before the first that won't fit
            if holes[room] == lo:
                raise FsError(Errno.ENOSPC)
            take, holes = holes[room] - lo, holes[:room]
        if holes:
            goal = goal or (pointers[lo - 1] + 1 if lo and pointers[lo - 1] else leaf + 1)
            fresh = yield from self._alloc_blocks(goal, len(holes))
            blocks = (b for first, n in fresh for b in range(first, first + n))
            for i, blockno in zip(holes, blocks):
                pointers[i] = blockno
            inode.i_blocks += len(holes) * (self.block_size // 512)
            yield from self.dev.write_meta(leaf, pointers.tobytes())
        runs: list[list[int]] = []
        _add_pointer_runs(runs, pointers, lo, lo + take)
        return runs, take

    def file_runs(self, ino: int, first: int, count: int):
        """Disk blocks of logical blocks first..first+count-1 as runs [(block or 0, count)]."""
        inode = yield from self._regular_file(ino)
        return (yield from self._block_runs(inode, first, count))

    def file_blocks(self, ino: int, first: int, count: int):
        """Disk block numbers of logical blocks first..first+count-1 (0 for holes): what
        mmap maps, page by page, when blocks are as large as pages."""
        runs = yield from self.file_runs(ino, first, count)
        out = []
        for blockno, n in runs:
            out.extend(range(blockno, blockno + n) if blockno else repeat(0, n))
        return out

    def _block_runs(self, inode: Inode, lbn: int, count: int):
        """The disk blocks behind logical blocks lbn..lbn+count-1 as runs [first disk block
        (0: a hole), count]: a file written in one go is a few long runs.  Each indirect
        block on the way is looked at as its runs (_leaf_runs), so a stretch costs a step
        per run it crosses, not per block."""
        runs: list[list[int]] = []
        end = lbn + count
        while lbn < end:
            slot, path = self._block_path(lbn)
            if not path:
                _add_run(runs, inode.i_block[slot], 1)
                lbn += 1
                continue
            lo = path[-1]
            take = min(self.ptrs_per_block - lo, end - lbn)
            leaf = yield from self._leaf_block(inode, slot, path)
            if not leaf:
                _add_run(runs, 0, take)
            else:
                starts, leaf_runs = yield from self._leaf_runs(leaf)
                _clip_runs(runs, starts, leaf_runs, lo, lo + take)
            lbn += take
        return runs

    def leaves_ahead(self, ino: int, lbn: int, count: int):
        """The indirect blocks whose first mapped block lies in lbn..lbn+count-1, in file
        order (none where a hole cuts the way, or past the largest file).  A sequential
        reader about to reach those blocks needs them to map what it reads; on a file
        written in one go each lies right after the data before it, so readahead reads it
        in the same command as that data instead of stopping the reader later."""
        inode = yield from self._regular_file(ino)
        ptrs, leaves = self.ptrs_per_block, []
        # every indirect block's first mapped block is NDIR_BLOCKS + a multiple of ptrs
        first = NDIR_BLOCKS + max(0, -(-(lbn - NDIR_BLOCKS) // ptrs)) * ptrs
        for start in range(first, lbn + count, ptrs):
            path = block_path(start, ptrs)
            if path is None:
                break
            slot, indexes = path
            leaf = yield from self._leaf_block(inode, slot, indexes)
            if leaf:
                leaves.append(leaf)
        return leaves

    def _leaf_block(self, inode: Inode, slot: int, path: tuple[int, ...]):
        """The last indirect block on the way to a logical block (0 if a hole cuts the way)."""
        blockno = inode.i_block[slot]
        for index in path[:-1]:
            if not blockno:
                return 0
            blockno = (yield from self._read_pointers(blockno))[index]
        return blockno

    def _leaf_runs(self, blockno: int):
        """Indirect block blockno's pointers as runs, (starts, runs): runs [(first index,
        first disk block or 0 for holes, count)] covering the whole block, starts their
        first indexes (for bisection).  They are remembered by the block's bytes, so
        reading on through a file costs a hash of each indirect block, not a scan of its
        pointers, and a changed block is simply other bytes (nothing to invalidate)."""
        data = yield from self.dev.read_block(blockno)
        if type(data) is not bytes:
            data = bytes(data)
        memo = self._leaf_memo
        found = memo.get(data)
        if found is None:
            runs: list[list[int]] = []
            _add_pointer_runs(runs, array.array('I', data), 0, self.ptrs_per_block)
            starts, indexed, index = [], [], 0
            for first, n in runs:
                starts.append(index)
                indexed.append((index, first, n))
                index += n
            if len(memo) >= LEAF_MEMO:
                del memo[next(iter(memo))]              # the oldest goes
            found = memo[data] = (starts, indexed)
        return found

    def _group_start(self, inode: Inode) -> int:
        """Allocation goal for an inode without blocks: its own group, to keep seeks short."""
        return self.groups[(inode.ino - 1) // self.sb.s_inodes_per_group].bg_inode_table

    def _reserve_blocks(self, count: int):
        if self.sb.s_free_blocks_count < count:
            raise FsError(Errno.ENOSPC)

    def _alloc_file_block(self, inode: Inode, goal: int, zeroed: bool):
        blockno = yield from self._alloc_block(goal)
        inode.i_blocks += self.block_size // 512
        if zeroed:
            yield from self.dev.write_block(blockno, bytes(self.block_size))
        return blockno

    def _free_file_blocks(self, inode: Inode, keep: int):
        """Free every data block from logical block `keep` on, and indirect blocks left empty."""
        doomed: list[int] = []
        for slot in range(keep, NDIR_BLOCKS):
            if inode.i_block[slot]:
                doomed.append(inode.i_block[slot])
                inode.i_block[slot] = 0
        first = NDIR_BLOCKS
        for slot, depth in ((IND_BLOCK, 1), (DIND_BLOCK, 2), (TIND_BLOCK, 3)):
            root = inode.i_block[slot]
            if root and (yield from self._prune(root, depth, max(keep - first, 0), doomed)):
                doomed.append(root)
                inode.i_block[slot] = 0
            first += self.ptrs_per_block ** depth
        inode.i_blocks -= len(doomed) * (self.block_size // 512)
        if doomed and inode.i_links_count:
            # a live file: nothing on the disk may point at the blocks once someone else
            # can have them (a deleted inode's pointers count for nothing)
            yield from self._write_inode(inode.ino)
            yield from self.dev.sync()
        yield from self._free_blocks(doomed)

    def _prune(self, blockno: int, depth: int, keep: int, doomed: list[int]):
        """Free what indirect block blockno maps past its first `keep` blocks; True if now empty."""
        child_span = self.ptrs_per_block ** (depth - 1)
        if keep >= child_span * self.ptrs_per_block:
            return False
        pointers = yield from self._read_pointers(blockno)
        changed = False
        for i, child in enumerate(pointers):
            child_keep = keep - i * child_span
            if not child or child_keep >= child_span:
                continue
            if depth == 1 or (yield from self._prune(child, depth - 1, max(child_keep, 0), doomed)):
                doomed.append(child)
                pointers[i], changed = 0, True
        if not any(pointers):
            return True
        if changed:
            yield from self.dev.write_meta(blockno, pointers.tobytes())
        return False


def _add_run(runs: list[list[int]], block: int, count: int) -> None:
    """Append blocks block..block+count-1 (or a hole if block is 0), extending the last run."""
    if runs:
        last = runs[-1]
        if (last[0] == 0 and block == 0) or (last[0] and last[0] + last[1] == block):
            last[1] += count
            return
    runs.append([block, count])


def _clip_runs(runs: list[list[int]], starts: list[int], leaf_runs: list, lo: int, hi: int) -> None:
    """Append the part of an indirect block's runs (_leaf_runs) that covers indexes lo..hi-1."""
    i = bisect_right(starts, lo) - 1
    while lo < hi:
        index, first, n = leaf_runs[i]
        take = min(index + n, hi) - lo
        _add_run(runs, first + (lo - index) if first else 0, take)
        lo += take
        i += 1


def _add_pointer_runs(runs: list[list[int]], pointers, lo: int, hi: int) -> None:
    """Runs of pointers[lo:hi]: whole if consecutive or all holes, else split in halves."""
    first, n = pointers[lo], hi - lo
    if first and pointers[hi - 1] == first + n - 1 and pointers[lo:hi] == array.array('I', range(first, first + n)):
        _add_run(runs, first, n)
    elif not first and not any(pointers[lo:hi]):
        _add_run(runs, 0, n)
    elif n == 1:
        _add_run(runs, first, 1)
    else:
        mid = (lo + hi) // 2
        _add_pointer_runs(runs, pointers, lo, mid)
        _add_pointer_runs(runs, pointers, mid, hi)
