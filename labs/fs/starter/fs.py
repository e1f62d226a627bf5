"""Lab fs: large files and symbolic links on ext2.  `ukern lab start fs` copied this file
to labs/fs/student/fs.py; while the lab is active

    kernel.fs.ext2_alloc.block_path     is  block_path(lbn, ptrs_per_block) below
    kernel.fs.ext2_links.Links.symlink  is  symlink(self, dir_ino, name, target, uid, gid) below
    kernel.fs.ext2_links.Links.readlink is  readlink(self, ino) below

Today a file stops at the direct and singly-indirect blocks (12 + 1024 blocks of 4 KiB:
a write past 4 MiB + 48 KiB fails with EFBIG), and symlink() fails with EPERM.  Add the
doubly-indirect block, and symbolic links stored as Linux stores them.  Read
labs/fs/README.md first.
"""

import array  # noqa: F401  (the fast symlink's bytes <-> i_block's 15 words)

from kernel.errno import Errno
from kernel.fs.ext2_layout import (  # noqa: F401
    NDIR_BLOCKS, IND_BLOCK, DIND_BLOCK, TIND_BLOCK, S_IFMT, InodeType, has_block_map,
)
from kernel.fs.fserror import FsError

FAST_SYMLINK_MAX = 60         # a target shorter than this lives in i_block itself (15 words)


def block_path(lbn: int, ptrs_per_block: int):
    """Which i_block slot, then which index in each indirect block on the way, leads to the
    file's logical block lbn: (slot, (index, ...)).  None if lbn is past what the block map
    can reach (the caller turns that into EFBIG)."""
    if lbn < NDIR_BLOCKS:
        return lbn, ()                          # i_block[0..11]: the data block itself
    lbn -= NDIR_BLOCKS
    if lbn < ptrs_per_block:
        return IND_BLOCK, (lbn,)                # i_block[12] -> an indirect block -> data
    lbn -= ptrs_per_block
    # TODO: the next ptrs_per_block ** 2 blocks go through the doubly-indirect block,
    # i_block[13]: its entry (which indirect block), then that block's entry (which data block).
    return None


def symlink(self, dir_ino: int, name, target, uid: int = 0, gid: int = 0):
    """Make a symbolic link `name` in directory dir_ino pointing at `target`; returns its
    inode number (a generator, like every ext2 operation: disk I/O is `yield from`)."""
    target = target.encode() if isinstance(target, str) else bytes(target)
    if not target or len(target) >= self.block_size:
        raise FsError(Errno.ENAMETOOLONG if target else Errno.ENOENT)

    def fill(ino, inode):
        # TODO: store the target and set the size (inode.i_size, or self._set_size).  A
        # target shorter than FAST_SYMLINK_MAX goes in inode.i_block itself (a "fast"
        # symlink: no data block); a longer one is written to the link's first data block
        # (self._write_data(inode, 0, memoryview(target))), as for a file.
        yield from ()
        raise FsError(Errno.EPERM)                # not written yet: symlink() fails

    # _make_node allocates the inode, runs fill, and links it into the directory; when fill
    # fails it frees the inode again (and any block it took).
    return (yield from self._make_node(dir_ino, name, InodeType.S_IFLNK | 0o777, uid, gid, fill))


def readlink(self, ino: int):
    """The target of symbolic link ino, as bytes (EINVAL if ino is not a symlink)."""
    inode = yield from self._iget(ino)
    if inode.i_mode & S_IFMT != InodeType.S_IFLNK:
        raise FsError(Errno.EINVAL)
    # TODO: a fast symlink's target is the first i_size bytes of i_block; a slow one's is
    # in its data block (self._read_data(inode, 0, inode.i_size)).  has_block_map(inode,
    # self.block_size) tells which (it looks at i_blocks, as e2fsck does).
    raise FsError(Errno.EINVAL)
