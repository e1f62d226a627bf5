"""A deliberately broken solution of lab fs, for the grader's own test (tests/test_labs_new.py).

The one mistake: the doubly-indirect path takes its two indexes in the wrong order (the
index in the second-level block first).  The kernel finds its own blocks again on some
paths, but consecutive blocks no longer sit in consecutive entries of one indirect block,
and e2fsck, debugfs and Linux read a different file.
"""

import array

from kernel.errno import Errno
from kernel.fs.ext2_layout import NDIR_BLOCKS, IND_BLOCK, DIND_BLOCK, S_IFMT, InodeType, has_block_map
from kernel.fs.fserror import FsError

FAST_SYMLINK_MAX = 60


def block_path(lbn: int, ptrs_per_block: int):
    if lbn < NDIR_BLOCKS:
        return lbn, ()
    lbn -= NDIR_BLOCKS
    if lbn < ptrs_per_block:
        return IND_BLOCK, (lbn,)
    lbn -= ptrs_per_block
    if lbn < ptrs_per_block ** 2:
        return DIND_BLOCK, (lbn % ptrs_per_block, lbn // ptrs_per_block)     # THE MISTAKE
    return None


def symlink(self, dir_ino: int, name, target, uid: int = 0, gid: int = 0):
    target = target.encode() if isinstance(target, str) else bytes(target)
    if not target or len(target) >= self.block_size:
        raise FsError(Errno.ENAMETOOLONG if target else Errno.ENOENT)

    def fill(ino, inode):
        if len(target) < FAST_SYMLINK_MAX:
            inode.i_block[:] = array.array('I', target.ljust(FAST_SYMLINK_MAX, b'\0')).tolist()
            inode.i_size = len(target)
        else:
            yield from self._write_data(inode, 0, memoryview(target))
            self._set_size(inode, len(target))
    return (yield from self._make_node(dir_ino, name, InodeType.S_IFLNK | 0o777, uid, gid, fill))


def readlink(self, ino: int):
    inode = yield from self._iget(ino)
    if inode.i_mode & S_IFMT != InodeType.S_IFLNK:
        raise FsError(Errno.EINVAL)
    if not has_block_map(inode, self.block_size):
        return bytes(inode.i_block)[:inode.i_size]
    return (yield from self._read_data(inode, 0, inode.i_size))
