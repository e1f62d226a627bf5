"""ext2's extra names for an inode: symbolic links, hard links, and the orphan list.

A mixin of the Ext2 class (ext2.py), like ext2_alloc.py.

Symbolic links: a target shorter than 60 bytes is kept in i_block itself (a "fast"
symlink, no data block); a longer one fills one data block (a "slow" symlink), as Linux
and e2fsck expect.

Hard links: another directory entry for the same inode, counted in i_links_count.

The orphan list: an inode whose last name goes while a descriptor still has it open must
keep its blocks until the last close.  Until then it sits on the orphan list that ext3
introduced (the superblock's s_last_orphan names the first, each orphan's i_dtime the
next), so a crash before the close leaves the inode findable: the next mount frees every
inode on the list.
"""

import array

from kernel.errno import Errno
from kernel.fs.ext2_layout import (
    LINK_MAX, S_IFMT, InodeType, Inode, file_type, has_block_map, is_dir,
)
from kernel.fs.fserror import FsError

FAST_SYMLINK_MAX = 60         # a symlink target shorter than this lives in i_block itself


class Links:
    # ---- symbolic links --------------------------------------------------------------

    def symlink(self, dir_ino: int, name, target: str | bytes, uid: int = 0, gid: int = 0):
        """Make a symbolic link to target; short targets live in the inode itself."""
        target = target.encode() if isinstance(target, str) else bytes(target)
        if not target or len(target) >= self.block_size:
            raise FsError(Errno.ENAMETOOLONG if target else Errno.ENOENT)

        def fill(ino, inode):
            if len(target) < FAST_SYMLINK_MAX:
                padded = target.ljust(FAST_SYMLINK_MAX, b"\0")
                inode.i_block[:] = array.array("I", padded).tolist()
                inode.i_size = len(target)
            else:
                yield from self._write_data(inode, 0, memoryview(target))
                self._set_size(inode, len(target))
        return (yield from self._make_node(dir_ino, name, InodeType.S_IFLNK | 0o777, uid, gid, fill))

    def readlink(self, ino: int):
        """The target of symbolic link ino (EINVAL if it is not one)."""
        inode = yield from self._iget(ino)
        if inode.i_mode & S_IFMT != InodeType.S_IFLNK:
            raise FsError(Errno.EINVAL)
        if not has_block_map(inode, self.block_size):
            return bytes(inode.i_block)[:inode.i_size]
        return (yield from self._read_data(inode, 0, inode.i_size))

    # ---- hard links --------------------------------------------------------------------

    def link(self, ino: int, dir_ino: int, name):
        """Give inode ino another name in directory dir_ino."""
        name = self._name(name)
        self._check_writable()
        dir_inode = yield from self._live_directory(dir_ino)
        inode = yield from self._iget(ino)
        if is_dir(inode):
            raise FsError(Errno.EPERM)          # hard links to directories would make cycles
        if inode.i_links_count == 0:
            raise FsError(Errno.ENOENT)         # an orphan cannot get a name back
        if inode.i_links_count >= LINK_MAX:
            raise FsError(Errno.EMLINK)
        if (yield from self._find_entry(dir_inode, name)) is not None:
            raise FsError(Errno.EEXIST)
        yield from self._add_entry(dir_ino, dir_inode, name, ino, file_type(inode.i_mode))
        inode.i_links_count += 1
        self._touch(inode, modified=False)
        yield from self._write_inode(ino)

    def _live_directory(self, dir_ino: int):
        """A directory new names may go in: not one already removed (its cwd may linger)."""
        dir_inode = yield from self._directory(dir_ino)
        if dir_inode.i_links_count == 0:
            raise FsError(Errno.ENOENT)
        return dir_inode

    # ---- the orphan list -------------------------------------------------------------

    def _unlinked(self, ino: int, inode: Inode):
        """The last link of open inode ino is going: onto the orphan list, on the disk
        before its entry goes, so that a crash before the last close still frees it."""
        inode.i_dtime = self.sb.s_last_orphan
        self.sb.s_last_orphan = ino
        yield from self._write_inode(ino, ordered=True)
        yield from self._write_super(ordered=True)

    def release(self, ino: int):
        """The last open file of ino has closed: free it if it has no name left."""
        if self.readonly:
            return
        inode = yield from self._iget(ino)
        if inode.i_links_count or is_dir(inode) or not inode.i_mode:
            return
        yield from self._unchain_orphan(ino, inode)
        yield from self._destroy_inode(ino, inode)

    def _unchain_orphan(self, ino: int, inode: Inode):
        """Take ino off the orphan list (the list is short: the open unlinked files)."""
        if self.sb.s_last_orphan == ino:
            self.sb.s_last_orphan = inode.i_dtime
            yield from self._write_super(ordered=True)      # off the list before it is freed
            return
        prev = self.sb.s_last_orphan
        for _ in range(self.sb.s_inodes_count):
            if not prev:
                return
            prev_inode = yield from self._iget(prev)
            if prev_inode.i_dtime == ino:
                prev_inode.i_dtime = inode.i_dtime
                yield from self._write_inode(prev, ordered=True)
                return
            prev = prev_inode.i_dtime

    def recover_orphans(self):
        """At mount: free the inodes a crash left on the orphan list; returns how many."""
        ino, freed = self.sb.s_last_orphan, 0
        if not ino or self.readonly:
            return 0
        seen = set()
        while ino and ino not in seen and 1 <= ino <= self.sb.s_inodes_count:
            seen.add(ino)
            inode = yield from self._iget(ino)
            ino_next, inode.i_dtime = inode.i_dtime, 0
            if inode.i_links_count == 0 and inode.i_mode and not is_dir(inode):
                yield from self._destroy_inode(ino, inode)
                freed += 1
            else:
                yield from self._write_inode(ino)
            ino = ino_next
        self.sb.s_last_orphan = 0
        self._dirty = True
        yield from self.sync()
        return freed
