"""ext2 inode attributes and space: ownership, permissions, times, preallocation, and
where the data is.

A mixin of the Ext2 class (ext2.py), like ext2_alloc.py.  Every method is a generator run
under the mount lock.
"""

from kernel.errno import Errno
from kernel.fs.ext2_layout import S_IFMT, S_IPERM
from kernel.fs.fserror import FsError

ZERO_CHUNK = 1 << 20          # fallocate writes zeros into holes this many bytes at a time


class Attributes:
    # ---- ownership, permissions, times -------------------------------------------------

    def set_attrs(self, ino: int, mode: int | None = None, uid: int | None = None,
                  gid: int | None = None, atime: int | None = None, mtime: int | None = None):
        """Change what is given (None: leave it); the change time becomes now."""
        self._check_writable()
        inode = yield from self._iget(ino)
        if mode is not None:
            inode.i_mode = inode.i_mode & S_IFMT | mode & S_IPERM
        if uid is not None:
            inode.i_uid, inode.l_i_uid_high = uid & 0xFFFF, uid >> 16 & 0xFFFF
        if gid is not None:
            inode.i_gid, inode.l_i_gid_high = gid & 0xFFFF, gid >> 16 & 0xFFFF
        if atime is not None:
            inode.i_atime = atime & 0xFFFFFFFF
        if mtime is not None:
            inode.i_mtime = mtime & 0xFFFFFFFF
        self._touch(inode, modified=False)
        yield from self._write_inode(ino)

    # ---- space -----------------------------------------------------------------------

    def fallocate(self, ino: int, offset: int, length: int, keep_size: bool):
        """Give bytes offset..offset+length disk blocks (reading as zeros where there were
        holes) and, unless keep_size, grow the file to cover them.  With keep_size only
        the part inside the file is allocated: ext2 has no way to mark blocks past the
        end as intended (ext4's uninitialised extents), and e2fsck calls such blocks an
        error."""
        self._check_writable()
        inode = yield from self._regular_file(ino)
        if offset < 0 or length <= 0:
            raise FsError(Errno.EINVAL)
        size = self._size(inode)
        end = min(offset + length, size) if keep_size else offset + length
        if end > offset:
            self._block_path((end - 1) // self.block_size)       # EFBIG if unaddressable
            yield from self._fill_holes(inode, offset, end)
        if end > size:
            self._set_size(inode, end)
        self._touch(inode)
        yield from self._write_inode(ino)

    def _fill_holes(self, inode, start: int, end: int):
        """Write zeros into every hole of the blocks covering start..end."""
        bs = self.block_size
        first = start // bs
        runs = yield from self._block_runs(inode, first, -(-end // bs) - first)
        lbn = first
        for blockno, count in runs:
            if not blockno:
                for pos in range(lbn * bs, (lbn + count) * bs, ZERO_CHUNK):
                    n = min(ZERO_CHUNK, (lbn + count) * bs - pos)
                    yield from self._write_data(inode, pos, memoryview(bytes(n)))
            lbn += count

    def seek_data(self, ino: int, offset: int, want_hole: bool):
        """lseek's SEEK_DATA (the first byte at or after offset in an allocated block) or
        SEEK_HOLE (the first byte in a hole, or the end of the file); ENXIO past the end."""
        inode = yield from self._regular_file(ino)
        size = self._size(inode)
        if offset < 0 or offset >= size:
            raise FsError(Errno.ENXIO)
        bs = self.block_size
        first = offset // bs
        runs = yield from self._block_runs(inode, first, -(-size // bs) - first)
        lbn = first
        for blockno, count in runs:
            if bool(blockno) != want_hole:
                return min(max(offset, lbn * bs), size)
            lbn += count
        if want_hole:
            return size
        raise FsError(Errno.ENXIO)
