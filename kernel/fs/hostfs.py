"""hostfs: the host's directory tree as a guest file system (like UML's hostfs).

`ukern run` without a disk mounts the host's / (or the --root directory) here, so a guest
finds its input files, /etc/passwd and its own executable.  A node is a path relative to
the root directory, as bytes (b'' is the root).  The VFS resolves every name itself, one
lstat at a time, and follows symlinks on the guest side: a link to /etc inside the root
means ROOT/etc, and `..` at the root stays there, so nothing above the root is reachable.

Read-only unless `writable` (ukern run --rw): every change is EROFS.  Reads go through
os.pread into a bytes copy for the guest; host errors come back as their errno.  A shared
mapping maps frames that all its mappers share and that go back to the file at msync,
munmap and exit (hostmap.py); a private one is a copy made at mmap (sys/memory.py).
"""

import os
import stat as pystat

from ..errno import Errno
from .fsstat import StatFs
from .file import File, O_ACCMODE, O_RDONLY, O_APPEND
from .fserror import FsError
from .fsys import FileSystem, DirFile, dtype_of, make_stat
from .hostmap import HostPages, HostPageView
from ..mm.frames import PAGE_SIZE
from ..mm.vm import MappedFile


def _host_errors(fn):
    """Run a host call, turning OSError into the FsError the guest sees."""
    def wrapper(*args):
        try:
            return fn(*args)
        except OSError as e:
            raise FsError(e.errno if e.errno in Errno._value2member_map_ else Errno.EIO) from None
    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


def _join(node: bytes, name: bytes) -> bytes:
    return name if not node else node + b'/' + name


class HostFs(FileSystem):
    name = 'hostfs'
    dev = 0x2A
    magic = 0x00C0FFEE            # Linux's HOSTFS_SUPER_MAGIC

    def __init__(self, root: bytes, writable: bool = False, frames=None):
        self.top = os.path.realpath(root)
        self.readonly = not writable
        self.frames = frames                        # for shared mappings (None: ENODEV)
        self.shared: dict[tuple[int, int], HostPages] = {}   # (st_dev, st_ino) -> its frames
        self.on_read_open = None    # callable(host path, fd): a recorded run notes what it reads

    def shared_pages(self, fd: int) -> HostPages:
        """The frames the shared mappings of the host file open as fd share."""
        st = os.fstat(fd)
        key = (st.st_dev, st.st_ino)
        pages = self.shared.get(key)
        if pages is None:
            pages = self.shared[key] = HostPages(self.frames, fd, lambda: self.shared.pop(key, None))
        return pages

    def host(self, node: bytes) -> bytes:
        return self.top.rstrip(b'/') + b'/' + node if node else self.top

    def root(self):
        return b''

    @_host_errors
    def lookup(self, dir_node: bytes, name: bytes):
        if name == b'.':
            return dir_node
        if name == b'..':
            return dir_node.rpartition(b'/')[0]
        child = _join(dir_node, name)
        os.lstat(self.host(child))                  # ENOENT, ENOTDIR
        return child

    @_host_errors
    def stat(self, node: bytes):
        return host_stat(os.lstat(self.host(node)))

    @_host_errors
    def open(self, node: bytes, flags: int):
        host = self.host(node)
        if pystat.S_ISDIR(os.lstat(host).st_mode):
            return DirFile(self, node, flags)
        access = {0: os.O_RDONLY, 1: os.O_WRONLY, 2: os.O_RDWR}.get(flags & O_ACCMODE, os.O_RDONLY)
        if access != os.O_RDONLY and self.readonly:
            raise FsError(Errno.EROFS)
        fd = os.open(host, access | os.O_NOFOLLOW | os.O_CLOEXEC)
        if self.on_read_open is not None and access != os.O_WRONLY:
            self.on_read_open(host, fd)              # (trace/record.py: HostFiles)
        return HostFile(fd, flags, self)

    @_host_errors
    def readdir(self, dir_node: bytes):
        host = self.host(dir_node)
        me = os.lstat(host)
        up = os.lstat(self.host(dir_node.rpartition(b'/')[0]))
        listing = [(b'.', me.st_ino, dtype_of(me.st_mode)), (b'..', up.st_ino, dtype_of(up.st_mode))]
        with os.scandir(host) as it:
            entries = sorted(it, key=lambda e: e.name)          # one order, whatever the host's
        for e in entries:
            try:
                mode = e.stat(follow_symlinks=False).st_mode
            except OSError:
                continue                                        # gone meanwhile
            listing.append((e.name, e.inode(), dtype_of(mode)))
        return listing

    @_host_errors
    def readlink(self, node: bytes):
        if not pystat.S_ISLNK(os.lstat(self.host(node)).st_mode):
            raise FsError(Errno.EINVAL)
        return os.readlink(self.host(node))

    @_host_errors
    def statfs(self):
        v = os.statvfs(self.top)
        return StatFs(block_size=v.f_bsize, blocks=v.f_blocks, free_blocks=v.f_bfree,
                      inodes=v.f_files, free_inodes=v.f_ffree,
                      reserved_blocks=v.f_bfree - v.f_bavail)

    # -- changes (only with --rw) ------------------------------------------------------------
    def _writable(self):
        if self.readonly:
            raise FsError(Errno.EROFS)

    @_host_errors
    def create(self, dir_node, name: bytes, mode: int):
        self._writable()
        child = _join(dir_node, name)
        os.close(os.open(self.host(child), os.O_CREAT | os.O_EXCL | os.O_WRONLY, mode & 0o7777))
        return child

    @_host_errors
    def mkdir(self, dir_node, name: bytes, mode: int):
        self._writable()
        os.mkdir(self.host(_join(dir_node, name)), mode & 0o7777)

    @_host_errors
    def unlink(self, dir_node, name: bytes):
        self._writable()
        os.unlink(self.host(_join(dir_node, name)))

    @_host_errors
    def rmdir(self, dir_node, name: bytes):
        self._writable()
        os.rmdir(self.host(_join(dir_node, name)))

    @_host_errors
    def rename(self, old_dir, old_name: bytes, new_dir, new_name: bytes):
        self._writable()
        os.rename(self.host(_join(old_dir, old_name)), self.host(_join(new_dir, new_name)))

    @_host_errors
    def symlink(self, dir_node, name: bytes, target: bytes):
        self._writable()
        os.symlink(target, self.host(_join(dir_node, name)))

    @_host_errors
    def link(self, node, dir_node, name: bytes):
        self._writable()
        os.link(self.host(node), self.host(_join(dir_node, name)), follow_symlinks=False)

    @_host_errors
    def truncate(self, node, size: int):
        self._writable()
        os.truncate(self.host(node), size)

    @_host_errors
    def set_attrs(self, node, mode=None, uid=None, gid=None, atime=None, mtime=None):
        """chmod, chown and utimes of the host file (the host may refuse: EPERM)."""
        self._writable()
        host = self.host(node)
        if mode is not None and not pystat.S_ISLNK(os.lstat(host).st_mode):
            os.chmod(host, mode & 0o7777)
        if uid is not None or gid is not None:
            os.chown(host, -1 if uid is None else uid, -1 if gid is None else gid,
                     follow_symlinks=False)
        if atime is not None or mtime is not None:
            now = os.lstat(host)
            os.utime(host, (now.st_atime if atime is None else atime,
                            now.st_mtime if mtime is None else mtime), follow_symlinks=False)


def host_stat(s: os.stat_result):
    """A host stat as the guest's Stat (times in whole seconds, like ext2's)."""
    return make_stat(s.st_ino, s.st_mode, s.st_size, nlink=s.st_nlink, uid=s.st_uid, gid=s.st_gid,
                     atime=int(s.st_atime), mtime=int(s.st_mtime), ctime=int(s.st_ctime),
                     blocks=s.st_blocks, rdev_major=os.major(s.st_rdev), rdev_minor=os.minor(s.st_rdev))


class HostFile(File):
    """An open host file: the host descriptor stays open until the last guest one closes."""
    seekable = True
    maps_shared_only = True      # mmap: only MAP_SHARED uses `mapping`; a private one copies

    def __init__(self, fd: int, flags: int, fs: HostFs | None = None):
        super().__init__(flags)
        self.fd = fd
        self.fs = fs

    def mapping(self, first: int, count: int):
        """mmap MAP_SHARED: pages first..first+count over the file's shared frames (a page
        past the end of the file is 0 in `blocks`: SIGBUS), or -ENODEV."""
        if self.fs is None or self.fs.frames is None:
            return -Errno.ENODEV
        try:
            pages = self.fs.shared_pages(self.fd)
            size = os.fstat(self.fd).st_size
        except OSError as e:
            return -(e.errno if e.errno in Errno._value2member_map_ else Errno.EIO)
        in_file = max(0, min(count, -(-size // PAGE_SIZE) - first))
        blocks = [first + i + 1 for i in range(in_file)] + [0] * (count - in_file)
        return MappedFile(HostPageView(pages, self.fd), blocks, first=first)

    def read(self, n: int):
        data = yield from self.pread(n, self.offset)
        self.offset += len(data)
        return data

    @_host_errors
    def _pread(self, n: int, offset: int) -> bytes:
        return os.pread(self.fd, n, offset)

    def pread(self, n: int, offset: int):
        return self._pread(n, offset)
        yield

    def write(self, data: bytes):
        if self.flags & O_APPEND:
            self.offset = os.fstat(self.fd).st_size
        n = yield from self.pwrite(data, self.offset)
        self.offset += n
        return n

    @_host_errors
    def _pwrite(self, data: bytes, offset: int) -> int:
        return os.pwrite(self.fd, data, offset)

    def pwrite(self, data: bytes, offset: int):
        return self._pwrite(data, offset)
        yield

    def stat(self):
        return host_stat(os.fstat(self.fd))
        yield

    @_host_errors
    def _truncate(self, size: int) -> None:
        os.ftruncate(self.fd, size)

    def truncate(self, size: int):
        self._truncate(size)
        return
        yield

    def close(self) -> None:
        os.close(self.fd)


assert O_RDONLY == os.O_RDONLY
