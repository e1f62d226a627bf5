"""What every mounted file system offers the VFS (Linux's inode_operations and
super_operations in one small class).

A file system names its objects with nodes: any hashable value it chooses (ext2 an inode
number, hostfs a host path, tmpfs a TmpNode).  The VFS (vfs.py) walks paths one name at a
time with lookup() and never looks inside a node.  A method may be a plain function or a
generator (ext2's wait for the disk); the VFS drives both through `call()`.  Names are
bytes: they are never decoded, so any name a directory holds can be opened.

The base class refuses every change: a read-only file system (procfs) only provides what
it can do, and adding symlink or chmod to a file system is one method there.
"""

import types

from ..errno import Errno
from .fsstat import Stat, StatFs
from .ext2_layout import InodeType, S_IFMT
from .file import File, O_RDONLY
from .fserror import FsError

NAME_MAX = 255

# d_type of a directory entry, from the file's type bits (Linux's DT_* = S_IFMT >> 12)
def dtype_of(mode: int) -> int:
    return (mode & S_IFMT) >> 12


def call(result):
    """Drive a file-system method that may be a generator (use with `yield from`)."""
    if isinstance(result, types.GeneratorType):
        return (yield from result)
    return result


def make_stat(ino: int, mode: int, size: int = 0, nlink: int = 1, mtime: int = 0, **more) -> Stat:
    fields = dict(ino=ino, mode=int(mode), nlink=nlink, uid=0, gid=0, size=size, atime=mtime,
                  mtime=mtime, ctime=mtime, blocks=(size + 511) // 512)
    fields.update(more)
    return Stat(**fields)


class FileSystem:
    """The interface; `readonly` file systems answer EROFS to every change."""
    name = 'none'                 # the type /proc/mounts shows
    readonly = False
    dev = 0                       # st_dev of its files
    magic = 0                     # statfs's f_type (Linux's *_SUPER_MAGIC)

    def root(self):
        raise NotImplementedError

    def lookup(self, dir_node, name: bytes):
        """The node called name in directory dir_node (ENOENT, ENOTDIR)."""
        raise FsError(Errno.ENOENT)

    def stat(self, node) -> Stat:
        raise NotImplementedError

    def open(self, node, flags: int) -> File:
        """A File for a regular file or directory node (the VFS handles device nodes)."""
        raise FsError(Errno.EACCES)

    def readdir(self, dir_node) -> list:
        """[(name bytes, inode number, d_type)], '.' and '..' included."""
        raise FsError(Errno.ENOTDIR)

    def readlink(self, node) -> bytes:
        raise FsError(Errno.EINVAL)

    def statfs(self) -> StatFs:
        return StatFs(block_size=4096, blocks=0, free_blocks=0, inodes=0, free_inodes=0)

    # -- changes: refused unless a file system provides them ------------------------------
    #   create(dir, name, mode) -> node        mkdir(dir, name, mode)
    #   mknod(dir, name, mode, major, minor)   symlink(dir, name, target)
    #   link(node, dir, name)                  unlink(dir, name), rmdir(dir, name)
    #   rename(old_dir, old_name, new_dir, new_name)   truncate(node, size)
    #   set_attrs(node, mode=, uid=, gid=, atime=, mtime=): the ones given (not None)
    def _refuse(self, *args, **kwargs):
        raise FsError(Errno.EROFS if self.readonly else Errno.EPERM)

    create = mkdir = unlink = rmdir = rename = symlink = link = truncate = _refuse
    set_attrs = mknod = _refuse


class DirFile(File):
    """An open directory of any file system: getdents64 reads entries() by index."""
    seekable = True

    def __init__(self, fs: FileSystem, node, flags: int = O_RDONLY):
        super().__init__(flags)
        self.fs = fs
        self.node = node
        self.listing: list | None = None      # what reading from index 0 found

    def entries_from(self, index: int):
        """The entries from `index` on, out of the listing taken when reading started
        (at index 0, so rewinddir takes a new one): a directory read in pieces is listed
        once, not once per piece, and removing entries as they come skips none."""
        if index == 0 or self.listing is None:
            self.listing = yield from self.entries()
        return self.listing[index:]

    def read(self, n: int):
        return -Errno.EISDIR
        yield

    def entries(self):
        return (yield from call(self.fs.readdir(self.node)))

    def stat(self):
        return (yield from call(self.fs.stat(self.node)))


class BytesFile(File):
    """A file whose whole content is bytes in kernel memory (a /proc file, a snapshot)."""
    seekable = True

    def __init__(self, content: bytes, st: Stat, flags: int = O_RDONLY):
        super().__init__(flags)
        self.content = content
        self.st = st

    def read(self, n: int):
        data = self.content[self.offset:self.offset + n]
        self.offset += len(data)
        return data
        yield

    def pread(self, n: int, offset: int):
        return self.content[offset:offset + n]
        yield

    def stat(self):
        return self.st
        yield


def is_dir(st: Stat) -> bool:
    return st.mode & S_IFMT == InodeType.S_IFDIR
