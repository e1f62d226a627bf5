"""The mount-time check: repairing what a crash left on an ext2 file system.

A mixin of the Ext2 class (ext2.py), like ext2_alloc.py.  Mounting read-write marks the
superblock "not clean" and a clean unmount marks it clean again, so a file system that
is not clean at mount was cut off while mounted.  The write order (ext2.py's header)
leaves only damage of a few known kinds, and repair() fixes exactly those, as e2fsck -p
would, before anything else touches the file system:

  * inodes on the orphan list are freed (recover_orphans, ext2_links.py);
  * an entry naming a deleted inode (an unlink cut short) is removed;
  * an inode that no directory names (a create cut short) is deleted;
  * link counts, i_blocks and sizes are set to what the tree and block maps say;
  * both bitmaps and every free count are rebuilt from what the inodes reachable from
    the root use, plus each group's own metadata (so leaked blocks come back).

Anything else (a malformed directory, a block claimed twice, a pointer out of range)
means damage the write order does not explain: the check raises Ext2Error, and ext2.py
mounts the file system read-only instead, with a one-line warning.
"""

import struct
from collections import Counter

from kernel.errno import Errno
from kernel.fs.ext2_layout import (
    DIND_BLOCK, IND_BLOCK, NDIR_BLOCKS, ROOT_INO, S_IFMT, TIND_BLOCK, InodeType,
    RoCompatFeature, ceil_div, has_block_map, is_dir,
)
from kernel.fs.fserror import Ext2Error

INODE_DTIME = struct.Struct('<I')        # i_dtime, at byte 20 of an inode
INODE_LINKS = struct.Struct('<H')        # i_links_count, at byte 26
INODE_MODE = struct.Struct('<H')         # i_mode, at byte 0


class Check:
    def repair(self):
        """Check and repair the whole file system; sets self.repaired to a summary."""
        orphans = yield from self.recover_orphans()
        fixes: Counter = Counter()
        if orphans:
            fixes['orphans freed'] = orphans
        refs, dirs = yield from self._walk_tree(fixes)
        used = yield from self._claimed_blocks(refs, fixes)
        yield from self._drop_unnamed(refs, fixes)
        for ino, count in refs.items():
            inode = yield from self._iget(ino)
            if inode.i_links_count != count or inode.i_dtime:
                inode.i_links_count, inode.i_dtime = count, 0
                fixes['link counts'] += 1
                yield from self._write_inode(ino)
        live = set(refs) | set(range(1, self.sb.s_first_ino))
        leaked = yield from self._rebuild_bitmaps(used, live, dirs)
        if leaked:
            fixes['free counts'] = leaked
        self._dirty = True
        yield from self.sync()
        yield from self.dev.sync()
        done = ', '.join(f'{what} {n}' for what, n in fixes.items()) or 'nothing to fix'
        self.repaired = f'checked after a crash: {done}'

    # ---- what the tree names ------------------------------------------------------------

    def _walk_tree(self, fixes: Counter):
        """Every directory from the root: (references to each inode, counting "." and
        "..", which is what its link count must be; the set of directories).  Entries
        naming an inode that is not in use are removed on the way."""
        refs: Counter = Counter()
        dirs = {ROOT_INO}
        queue = [ROOT_INO]
        while queue:
            dir_ino = queue.pop()
            dir_inode = yield from self._iget(dir_ino)
            for name, ino, _ in (yield from self.readdir(dir_ino)):
                if not (yield from self._is_live(ino)):
                    if name in ('.', '..'):
                        raise Ext2Error(f'directory {dir_ino}: {name!r} names a deleted inode', Errno.EIO)
                    slot = yield from self._find_entry(dir_inode, name.encode(errors='surrogateescape'))
                    yield from self._remove_entry(dir_ino, dir_inode, slot)
                    fixes['dangling entries'] += 1
                    continue
                refs[ino] += 1
                if name in ('.', '..'):
                    continue
                child = yield from self._iget(ino)
                if is_dir(child):
                    if ino in dirs:
                        raise Ext2Error(f'directory {ino} has two names', Errno.EIO)
                    dirs.add(ino)
                    queue.append(ino)
        return refs, dirs

    def _is_live(self, ino: int):
        if not 1 <= ino <= self.sb.s_inodes_count:
            return False
        inode = yield from self._iget(ino)
        return bool(inode.i_links_count and inode.i_mode)

    def _drop_unnamed(self, refs: Counter, fixes: Counter):
        """Delete the inodes in use that no directory names (a create cut short), and
        date the deleted ones a crash left undated (e2fsck wants a time there)."""
        per_table = ceil_div(self.sb.s_inodes_per_group * self.inode_size, self.block_size)
        for group, desc in enumerate(self.groups):
            table = yield from self.dev.read_run(desc.bg_inode_table, per_table)
            first = group * self.sb.s_inodes_per_group + 1
            for index in range(self.sb.s_inodes_per_group):
                ino, at = first + index, index * self.inode_size
                if ino < self.sb.s_first_ino or ino in refs:
                    continue
                links, = INODE_LINKS.unpack_from(table, at + 26)
                dtime, = INODE_DTIME.unpack_from(table, at + 20)
                # a dtime below the inode count is an orphan-list link (ext2_links.py):
                # e2fsck takes it for a list a crash broke, so it gets a real time
                dated = dtime >= self.sb.s_inodes_count
                if not links and (dated or not INODE_MODE.unpack_from(table, at)[0]):
                    continue
                inode = yield from self._iget(ino)
                inode.i_links_count, inode.i_dtime = 0, self.now() or 1
                yield from self._write_inode(ino)
                del self._inodes[ino]
                fixes['unnamed inodes' if links else 'undated inodes'] += 1

    # ---- what the inodes use ----------------------------------------------------------

    def _claimed_blocks(self, refs: Counter, fixes: Counter):
        """Every block the named inodes (and the reserved ones, like the resize inode)
        use; i_blocks and sizes are corrected to match on the way."""
        used: set[int] = set()
        for ino in sorted(set(refs) | set(range(1, self.sb.s_first_ino))):
            inode = yield from self._iget(ino)
            blocks, last = yield from self._inode_blocks(inode)
            if used.intersection(blocks) or len(set(blocks)) != len(blocks):
                raise Ext2Error(f'inode {ino} uses a block something else uses', Errno.EIO)
            used.update(blocks)
            if ino < self.sb.s_first_ino and ino != ROOT_INO:
                continue
            changed = False
            sectors = len(blocks) * (self.block_size // 512)
            if inode.i_blocks != sectors:
                inode.i_blocks, changed = sectors, True
            covered = (last + 1) * self.block_size
            kind, size = inode.i_mode & S_IFMT, self._size(inode)
            # e2fsck's rules: a file's size reaches into its last block, a directory's
            # is exactly its blocks
            if (kind == InodeType.S_IFREG and size < last * self.block_size) or \
                    (kind == InodeType.S_IFDIR and size != covered):
                self._set_size(inode, covered)
                changed = True
            if changed:
                fixes['sizes and block counts'] += 1
                yield from self._write_inode(ino)
        return used

    def _inode_blocks(self, inode):
        """(every block inode uses: data, indirect and extended-attribute blocks; the
        last logical block holding data, or -1)."""
        blocks: list[int] = []
        last = -1
        if inode.i_file_acl:
            blocks.append(self._in_range(inode.i_file_acl))
        if not inode.i_mode or not has_block_map(inode, self.block_size):
            return blocks, last
        for lbn in range(NDIR_BLOCKS):
            if inode.i_block[lbn]:
                blocks.append(self._in_range(inode.i_block[lbn]))
                last = lbn
        first = NDIR_BLOCKS
        for slot, depth in ((IND_BLOCK, 1), (DIND_BLOCK, 2), (TIND_BLOCK, 3)):
            if inode.i_block[slot]:
                last = max(last, (yield from self._tree_blocks(inode.i_block[slot], depth, first, blocks)))
            first += self.ptrs_per_block ** depth
        return blocks, last

    def _tree_blocks(self, blockno: int, depth: int, first: int, blocks: list):
        """Add an indirect block and what it maps to blocks; the last logical block found."""
        if len(blocks) > self.sb.s_blocks_count:     # (pointers in a loop: stop, not hang)
            raise Ext2Error('an inode maps more blocks than the file system has', Errno.EIO)
        blocks.append(self._in_range(blockno))
        pointers = yield from self._read_pointers(blockno)
        span = self.ptrs_per_block ** (depth - 1)
        last = -1
        for i, child in enumerate(pointers):
            if not child:
                continue
            if depth == 1:
                blocks.append(self._in_range(child))
                last = first + i
            else:
                last = max(last, (yield from self._tree_blocks(child, depth - 1, first + i * span, blocks)))
        return last

    def _in_range(self, blockno: int) -> int:
        if not self.sb.s_first_data_block <= blockno < self.sb.s_blocks_count:
            raise Ext2Error(f'block {blockno} out of range', Errno.EIO)
        return blockno

    # ---- the bitmaps ----------------------------------------------------------------------

    def _group_metadata(self, group: int) -> list[int]:
        """Blocks of a group that no inode maps: superblock copy and descriptors (in the
        groups that keep them), the bitmaps and the inode table."""
        sb, desc = self.sb, self.groups[group]
        out = []
        if self._has_super_copy(group):
            base = sb.s_first_data_block + group * sb.s_blocks_per_group
            gdt = ceil_div(self.ngroups * 32, self.block_size) + sb.s_reserved_gdt_blocks
            out += range(base, base + 1 + gdt)
        table = ceil_div(sb.s_inodes_per_group * self.inode_size, self.block_size)
        out += [desc.bg_block_bitmap, desc.bg_inode_bitmap]
        out += range(desc.bg_inode_table, desc.bg_inode_table + table)
        return out

    def _has_super_copy(self, group: int) -> bool:
        if group <= 1 or not self.sb.s_feature_ro_compat & RoCompatFeature.SPARSE_SUPER:
            return True
        for base in (3, 5, 7):
            n = base
            while n < group:
                n *= base
            if n == group:
                return True
        return False

    def _rebuild_bitmaps(self, used: set[int], live: set[int], dirs: set[int]):
        """Write both bitmaps of every group from what is used, and every free count;
        returns how many blocks and inodes the old counts had wrong."""
        sb = self.sb
        for group in range(self.ngroups):
            used.update(self._group_metadata(group))
        wrong = 0
        free_blocks = free_inodes = 0
        ipg = sb.s_inodes_per_group
        for group, desc in enumerate(self.groups):
            base = sb.s_first_data_block + group * sb.s_blocks_per_group
            nblocks = self._blocks_in_group(group)
            bits = [b - base for b in used if base <= b < base + nblocks]
            blocks_free = nblocks - len(bits)
            yield from self._write_bitmap(desc.bg_block_bitmap, nblocks, bits)
            inodes = [ino - group * ipg - 1 for ino in live if group * ipg < ino <= (group + 1) * ipg]
            inodes_free = ipg - len(inodes)
            yield from self._write_bitmap(desc.bg_inode_bitmap, ipg, inodes)
            ndirs = sum(1 for ino in dirs if group * ipg < ino <= (group + 1) * ipg)
            wrong += abs(desc.bg_free_blocks_count - blocks_free) + abs(desc.bg_free_inodes_count - inodes_free)
            desc.bg_free_blocks_count, desc.bg_free_inodes_count = blocks_free, inodes_free
            desc.bg_used_dirs_count = ndirs
            free_blocks += blocks_free
            free_inodes += inodes_free
        sb.s_free_blocks_count, sb.s_free_inodes_count = free_blocks, free_inodes
        return wrong

    def _write_bitmap(self, blockno: int, count: int, set_bits: list[int]):
        """Bits 0..count-1 of a bitmap block become exactly set_bits; the padding past
        count (always set, by mke2fs) stays as it is."""
        old = int.from_bytes((yield from self.dev.read_block(blockno)), 'little')
        bits = old >> count << count
        for bit in set_bits:
            bits |= 1 << bit
        if bits != old:
            yield from self.dev.write_meta(blockno, bits.to_bytes(self.block_size, 'little'))
