"""What stat(2) and statfs(2) report, in the form every file system fills in (ext2, tmpfs,
hostfs, procfs): the VFS turns these into the guest's struct stat, statx and statfs.

They live apart from ext2.py so that a run without a disk never loads ext2.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Stat:
    """A file's attributes, as stat(2) reports them (every file system fills one)."""
    ino: int
    mode: int                 # type bits (InodeType) | permissions
    nlink: int
    uid: int
    gid: int
    size: int
    atime: int
    mtime: int
    ctime: int
    blocks: int               # 512-byte sectors, indirect blocks included
    rdev_major: int = 0       # device nodes only
    rdev_minor: int = 0


@dataclasses.dataclass(frozen=True)
class StatFs:
    """A file system's sizes and free space, as statfs(2) reports them."""
    block_size: int
    blocks: int
    free_blocks: int
    inodes: int
    free_inodes: int
    reserved_blocks: int = 0        # free blocks only root may use (not in f_bavail)
