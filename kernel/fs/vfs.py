"""The virtual file system: a mount table, path names, and opening files.

Every file system (fsys.FileSystem: ext2, hostfs, tmpfs, procfs, devfs) is mounted at a
path.  A place in the tree is a Cwd: the mount, the file system's node, and the canonical
absolute path that reaches it (no symlinks, no `.` or `..`).  Mount points are keyed by
that path, so a file system can be mounted on a name its parent does not have (/proc on a
host directory tree that lacks it).

Path resolution (namei) walks one name at a time: `..` at a mount's root climbs to the
directory the mount sits in, a name that is a mount point enters the mounted root, a
symlink in the middle of a path is always followed (at the end, unless the caller says
not to), ELOOP after 40 links.  Names stay bytes throughout.

A device node (on ext2 or devfs) opens the driver its major number names in the device
switch (xv6's devsw, Linux's file_operations; seed 002).  A FIFO node opens an end of
the pipe the VFS keeps for it while it is open (fifo.py), and flock(2) locks live in a
table per file; both are keyed by (mount, node), so they work on every file system.
"""

import posixpath
import struct
from dataclasses import dataclass

from ..errno import Errno
from .ext2_layout import InodeType, S_IFMT
from .ext2_vfs import Ext2Mount, InodeFile, InodeHold  # noqa: F401 (re-exported: callers import them from here)
from .fifo import Fifo, FifoReader, FifoReadWrite, FifoWriter, FlockTable, wait_for_partner
from .file import File, O_ACCMODE, O_RDONLY, O_RDWR, O_APPEND, O_NONBLOCK  # noqa: F401
from .fserror import FsError
from .fsys import NAME_MAX, DirFile, call  # noqa: F401

O_CREAT = 0o100
O_EXCL = 0o200
O_NOCTTY = 0o400
O_TRUNC = 0o1000
O_DIRECT = 0o40000
O_DIRECTORY = 0o200000
O_NOFOLLOW = 0o400000
O_CLOEXEC = 0o2000000
PATH_MAX = 4096
MAX_SYMLINKS = 40               # Linux's MAXSYMLINKS
# exec reads a program whole when its file system has no page cache to map it from (the
# host's tree, tmpfs, /proc): a program file larger than this is refused with ENOMEM there.
MAX_PROGRAM_BYTES = 512 << 20
X_OK, W_OK = 1, 2               # access(2)


@dataclass
class Cwd:
    """A directory (or any place) in the tree; the default is the root."""
    mount: 'Mount | None' = None
    node: object = None
    path: bytes = b'/'

    def move_to(self, place: 'Cwd') -> None:
        """chdir: change this Cwd in place, so the threads that share it (CLONE_FS) move too."""
        self.mount, self.node, self.path = place.mount, place.node, place.path


@dataclass(eq=False)
class Mount:
    """A file system mounted at a path of the name space."""
    fs: object                  # fsys.FileSystem
    path: bytes                 # where it is mounted
    source: str = 'none'        # what /proc/mounts shows in its first column
    # The directory this mount covers, shown through it where its own root has no such
    # name (a read-only lower layer, as overlayfs has): the host's /tmp under the guest's.
    lower: 'Cwd | None' = None

    @property
    def readonly(self) -> bool:
        return self.fs.readonly


class UnionDirFile(DirFile):
    """The root of a mount with a lower layer, open as a directory: its own entries, then
    those of the directory it covers that it has no name for (what lookups find there)."""

    def __init__(self, upper: DirFile, lower: Cwd):
        super().__init__(upper.fs, upper.node, upper.flags)
        self.lower = lower

    def entries(self):
        own = yield from super().entries()
        names = {entry[0] for entry in own}
        try:
            below = yield from call(self.lower.mount.fs.readdir(self.lower.node))
        except (FsError, OSError):
            below = []                     # the host's directory cannot be read: its own only
        return own + [entry for entry in below if entry[0] not in names]


def _mode(st) -> int:
    return st.mode & S_IFMT


class Vfs:
    def __init__(self, seconds, wake, root_fs):
        self._seconds = seconds         # seconds(): the time since the epoch, for file times
        self.wake = wake                # wake(process): FIFOs' and flock's waiters
        self.root = Mount(root_fs, b'/', root_fs.name)
        self.covered: dict[tuple[bytes, bytes], Mount] = {}   # (parent dir path, name) -> mount
        self.devsw: dict[tuple[str, int], object] = {}     # ('c'|'b', major) -> open(minor, flags)
        self.fifos: dict[tuple, Fifo] = {}                 # (mount, node) of an open FIFO -> its pipe
        self.flocks: dict[tuple, FlockTable] = {}          # (mount, node) -> its flock(2) holders
        # exec pages a program in from the buffer cache (proc/program.py) unless a tracer
        # that names sections and symbols wants its whole file (trace/where.py)
        self.page_programs = True

    # -- the mount table ------------------------------------------------------------------
    def set_root(self, fs, source: str = 'none') -> None:
        self.root = Mount(fs, b'/', source)

    def mount(self, fs, path: bytes, source: str = 'none') -> Mount:
        head, name = posixpath.split(path.rstrip(b'/'))
        m = Mount(fs, path, source)
        self.covered[(head, name)] = m
        return m

    def mounts(self) -> list[Mount]:
        return [self.root] + sorted(self.covered.values(), key=lambda m: m.path)

    @property
    def ext2(self) -> Ext2Mount | None:
        """The ext2 file system at /, if the root is one (the disk)."""
        return self.root.fs if isinstance(self.root.fs, Ext2Mount) else None

    # the boot disk's ext2, for the callers that reach for it by these names
    fs = property(lambda self: self.ext2.fs)
    cache = property(lambda self: self.ext2.cache)

    def root_loc(self) -> Cwd:
        return Cwd(self.root, self.root.fs.root(), b'/')

    # -- path resolution -------------------------------------------------------------------
    def resolve(self, path: bytes, cwd: Cwd, follow: bool = True):
        """The Cwd that `path` names (a generator).  Raises FsError."""
        if not path:
            raise FsError(Errno.ENOENT)
        if len(path) > PATH_MAX:
            raise FsError(Errno.ENAMETOOLONG)
        loc = self.root_loc() if path.startswith(b'/') or cwd.mount is None else cwd
        todo = [c for c in reversed(path.split(b'/')) if c]
        must_be_dir = path.endswith(b'/')
        links = 0
        if not todo:
            yield from self._check_dir(loc)
        while todo:
            name = todo.pop()
            if len(name) > NAME_MAX:
                raise FsError(Errno.ENAMETOOLONG)
            yield from self._check_dir(loc)
            if name == b'.':
                continue
            if name == b'..':
                loc = yield from self._parent(loc)
                continue
            child = yield from self._step(loc, name)
            st = yield from call(child.mount.fs.stat(child.node))
            if _mode(st) == InodeType.S_IFLNK and (todo or follow or must_be_dir):
                links += 1
                if links > MAX_SYMLINKS:
                    raise FsError(Errno.ELOOP)
                target = yield from call(child.mount.fs.readlink(child.node))
                if not target:
                    raise FsError(Errno.ENOENT)
                if target.startswith(b'/'):
                    loc = self.root_loc()
                todo += [c for c in reversed(target.split(b'/')) if c]
                continue
            loc = child
        if must_be_dir:
            yield from self._check_dir(loc)
        return loc

    def _check_dir(self, loc: Cwd):
        st = yield from call(loc.mount.fs.stat(loc.node))
        if _mode(st) != InodeType.S_IFDIR:
            raise FsError(Errno.ENOTDIR)

    def _step(self, loc: Cwd, name: bytes):
        """The child `name` of directory loc, entering a file system mounted there."""
        path = posixpath.join(loc.path, name)
        m = self.covered.get((loc.path, name))
        if m is not None:
            return Cwd(m, m.fs.root(), path)
        try:
            node = yield from call(loc.mount.fs.lookup(loc.node, name))
        except FsError as e:
            lower = loc.mount.lower
            if e.errno != Errno.ENOENT or lower is None or loc.path != loc.mount.path:
                raise
            node = yield from call(lower.mount.fs.lookup(lower.node, name))
            return Cwd(lower.mount, node, path)
        return Cwd(loc.mount, node, path)

    def _parent(self, loc: Cwd):
        if loc.path == b'/':
            return loc                              # `..` of the root is the root
        parent_path = posixpath.dirname(loc.path)
        if loc.mount is not self.root and loc.path == loc.mount.path:
            return (yield from self.resolve(parent_path, self.root_loc()))   # out of the mount
        node = yield from call(loc.mount.fs.lookup(loc.node, b'..'))
        return Cwd(loc.mount, node, parent_path)

    def parent_and_name(self, path: bytes, cwd: Cwd):
        """(directory Cwd, last name) for creating or removing `path` (a generator): EBUSY
        for a mount point, EROFS on a read-only file system."""
        if not path:
            raise FsError(Errno.ENOENT)
        stripped = path.rstrip(b'/') or b'/'
        head, _, name = stripped.rpartition(b'/')
        if name in (b'', b'.', b'..'):
            raise FsError(Errno.EBUSY if stripped == b'/' else Errno.EINVAL if name else Errno.EEXIST)
        if len(name) > NAME_MAX:
            raise FsError(Errno.ENAMETOOLONG)
        if not head and stripped.startswith(b'/'):
            head = b'/'
        loc = (yield from self.resolve(head, cwd)) if head else \
            (cwd if cwd.mount is not None else self.root_loc())
        if not head:
            yield from self._check_dir(loc)
        if (loc.path, name) in self.covered:
            raise FsError(Errno.EBUSY)
        if loc.mount.readonly:
            raise FsError(Errno.EROFS)
        return loc, name

    # -- opening ---------------------------------------------------------------------------
    def open(self, path: bytes, flags: int, mode: int, cwd: Cwd):
        """A File for path (a generator).  Raises FsError."""
        create = bool(flags & O_CREAT)
        follow = not flags & O_NOFOLLOW and not (create and flags & O_EXCL)
        try:
            loc = yield from self.resolve(path, cwd, follow)
            if create and flags & O_EXCL:
                raise FsError(Errno.EEXIST)
        except FsError as e:
            if e.errno != Errno.ENOENT or not create:
                raise
            if path.endswith(b'/'):
                raise FsError(Errno.EISDIR) from None
            loc = yield from self._create(path, mode, cwd)
        f = yield from self.open_loc(loc, flags)
        return f

    def _create(self, path: bytes, mode: int, cwd: Cwd):
        """O_CREAT of a name that is missing, or a symlink to a missing name: Linux
        creates the link's target."""
        for _ in range(MAX_SYMLINKS):
            loc, name = yield from self.parent_and_name(path, cwd)
            try:
                child = yield from self._step(loc, name)
            except FsError as e:
                if e.errno != Errno.ENOENT:
                    raise
                node = yield from call(loc.mount.fs.create(loc.node, name, mode & 0o7777))
                return Cwd(loc.mount, node, posixpath.join(loc.path, name))
            path = yield from call(child.mount.fs.readlink(child.node))     # a dangling link
            cwd = loc
        raise FsError(Errno.ELOOP)

    def open_loc(self, loc: Cwd, flags: int):
        fs = loc.mount.fs
        st = yield from call(fs.stat(loc.node))
        kind = _mode(st)
        writing = flags & O_ACCMODE != O_RDONLY
        if kind == InodeType.S_IFLNK:
            raise FsError(Errno.ELOOP)               # O_NOFOLLOW on a symlink
        if kind == InodeType.S_IFDIR:
            if writing or flags & O_CREAT:
                raise FsError(Errno.EISDIR)
        elif flags & O_DIRECTORY:
            raise FsError(Errno.ENOTDIR)
        if kind in (InodeType.S_IFCHR, InodeType.S_IFBLK):
            opener = self.devsw.get(('c' if kind == InodeType.S_IFCHR else 'b', st.rdev_major))
            device = opener(st.rdev_minor, flags) if opener is not None else None
            if device is None:
                raise FsError(Errno.ENXIO)      # no driver for this major (or minor)
            device.loc = loc
            return device
        if kind == InodeType.S_IFIFO:
            f = yield from self.open_fifo(loc, flags)
            f.loc = loc
            return f
        if kind not in (InodeType.S_IFREG, InodeType.S_IFDIR):
            raise FsError(Errno.EACCES)
        if writing and loc.mount.readonly:
            raise FsError(Errno.EROFS)
        if flags & O_TRUNC and writing:
            yield from call(fs.truncate(loc.node, 0))
        f = yield from call(fs.open(loc.node, flags))
        lower = loc.mount.lower
        if lower is not None and loc.path == loc.mount.path and isinstance(f, DirFile):
            f = UnionDirFile(f, lower)
        f.loc = loc                        # for *at() calls, fchdir and /proc/PID/fd
        return f

    # -- names -----------------------------------------------------------------------------
    def stat(self, path: bytes, cwd: Cwd, follow: bool = True):
        """The Stat of a path (a generator)."""
        loc = yield from self.resolve(path, cwd, follow)
        return (yield from call(loc.mount.fs.stat(loc.node)))

    def lookup(self, path: bytes, cwd: Cwd):
        """The node path names in its file system (a generator; ext2: the inode number)."""
        return (yield from self.resolve(path, cwd)).node

    def access(self, path: bytes, mode: int, cwd: Cwd):
        """access(2) for the one user, root: anything may be read; W_OK fails only on a
        read-only file system, X_OK only for a file with no x bit at all."""
        loc = yield from self.resolve(path, cwd)
        st = yield from call(loc.mount.fs.stat(loc.node))
        kind = _mode(st)
        if mode & W_OK and loc.mount.readonly and kind in (InodeType.S_IFREG, InodeType.S_IFDIR):
            raise FsError(Errno.EROFS)
        if mode & X_OK and kind != InodeType.S_IFDIR and not st.mode & 0o111:
            raise FsError(Errno.EACCES)

    def readlink(self, path: bytes, cwd: Cwd):
        loc = yield from self.resolve(path, cwd, follow=False)
        return (yield from call(loc.mount.fs.readlink(loc.node)))

    def chdir(self, path: bytes, cwd: Cwd):
        loc = yield from self.resolve(path, cwd)
        yield from self._check_dir(loc)
        return loc

    def place_for_new(self, path: bytes, cwd: Cwd):
        """parent_and_name for a call that makes a name (mkdir, symlink, link, mknod): the
        root, a mount point, `.` and `..` already exist, EEXIST as Linux says (not the
        EBUSY and EINVAL that removing them gives)."""
        try:
            return (yield from self.parent_and_name(path, cwd))
        except FsError as e:
            raise FsError(Errno.EEXIST if e.errno in (Errno.EBUSY, Errno.EINVAL) else e.errno) from None

    def mkdir(self, path: bytes, mode: int, cwd: Cwd):
        loc, name = yield from self.place_for_new(path, cwd)
        yield from call(loc.mount.fs.mkdir(loc.node, name, mode & 0o7777))

    def unlink(self, path: bytes, cwd: Cwd, directory: bool = False):
        if not directory and path and not path.strip(b'/'):
            raise FsError(Errno.EISDIR)             # unlink("/"), as Linux answers it
        loc, name = yield from self.parent_and_name(path, cwd)
        fs = loc.mount.fs
        if directory:
            yield from call(fs.rmdir(loc.node, name))
        elif path.endswith(b'/'):
            yield from self.resolve(path, cwd)      # ENOTDIR unless it is a directory
            raise FsError(Errno.EISDIR)
        else:
            yield from call(fs.unlink(loc.node, name))

    def rename(self, old: bytes, old_cwd: Cwd, new: bytes, new_cwd: Cwd):
        old_loc, old_name = yield from self.parent_and_name(old, old_cwd)
        new_loc, new_name = yield from self.parent_and_name(new, new_cwd)
        if old_loc.mount is not new_loc.mount:
            raise FsError(Errno.EXDEV)
        yield from call(old_loc.mount.fs.rename(old_loc.node, old_name, new_loc.node, new_name))

    def symlink(self, target: bytes, path: bytes, cwd: Cwd):
        loc, name = yield from self.place_for_new(path, cwd)
        yield from call(loc.mount.fs.symlink(loc.node, name, target))

    def link(self, old: bytes, old_cwd: Cwd, new: bytes, new_cwd: Cwd, follow: bool = False):
        """A second name for a file (link(2); `follow` is AT_SYMLINK_FOLLOW)."""
        loc = yield from self.resolve(old, old_cwd, follow)
        new_loc, name = yield from self.place_for_new(new, new_cwd)
        if loc.mount is not new_loc.mount:
            raise FsError(Errno.EXDEV)
        yield from call(loc.mount.fs.link(loc.node, new_loc.node, name))

    def mknod(self, path: bytes, cwd: Cwd, mode: int, major: int, minor: int):
        """A device node, FIFO or empty file (mknod(2); `mode` has its type bits)."""
        loc, name = yield from self.place_for_new(path, cwd)
        yield from call(loc.mount.fs.mknod(loc.node, name, mode, major, minor))

    def set_attrs(self, loc: Cwd, **attrs):
        """chmod, chown and utimes of the file at loc: mode, uid, gid, atime, mtime (the
        ones given and not None)."""
        if loc.mount.readonly:
            raise FsError(Errno.EROFS)
        yield from call(loc.mount.fs.set_attrs(loc.node, **attrs))

    def now(self) -> int:
        """Seconds since the epoch on the kernel's clock (utimensat's UTIME_NOW)."""
        return self._seconds()

    def statfs(self, loc: Cwd):
        """(f_type magic, StatFs) of the file system holding loc (a generator)."""
        fs = loc.mount.fs
        return fs.magic, (yield from call(fs.statfs()))

    def truncate(self, path: bytes, size: int, cwd: Cwd):
        loc = yield from self.resolve(path, cwd)
        st = yield from call(loc.mount.fs.stat(loc.node))
        if _mode(st) == InodeType.S_IFDIR:
            raise FsError(Errno.EISDIR)
        if loc.mount.readonly:
            raise FsError(Errno.EROFS)
        yield from call(loc.mount.fs.truncate(loc.node, size))

    def read_file(self, path: bytes, cwd: Cwd, executable: bool = False):
        """(content, canonical path) of a regular file (a generator).  With `executable`
        (exec), a file without an x bit is EACCES as on Linux, and the content of a file
        the buffer cache pages is a proc.program.Program (headers read, segments mapped)
        rather than its bytes."""
        loc = yield from self.resolve(path, cwd)
        fs = loc.mount.fs
        st = yield from call(fs.stat(loc.node))
        if _mode(st) != InodeType.S_IFREG or (executable and not st.mode & 0o111):
            raise FsError(Errno.EACCES)
        from ..proc import program
        f = yield from call(fs.open(loc.node, O_RDONLY))
        try:
            if executable and self.page_programs and program.pageable(f):
                data = yield from program.open_program(f, st.size)
            elif executable and st.size > MAX_PROGRAM_BYTES:
                raise FsError(Errno.ENOMEM)
            else:
                data = yield from f.pread(st.size, 0)
        finally:
            f.close()
        return data, loc.path

    def sync(self):
        for m in self.mounts():
            if hasattr(m.fs, 'sync'):
                yield from m.fs.sync()

    # -- FIFOs and flock ---------------------------------------------------------------------
    def open_fifo(self, loc: Cwd, flags: int):
        """An end of the pipe behind the FIFO at loc (fifo.py), waiting for the other end."""
        key = (loc.mount, loc.node)
        fifo = self.fifos.get(key)
        if fifo is None:
            fifo = self.fifos[key] = Fifo(self.wake, lambda: self.fifos.pop(key, None))
        mode = flags & O_ACCMODE
        if mode == O_RDWR:
            return FifoReadWrite(fifo, flags)
        if mode == O_RDONLY:
            end = FifoReader(fifo, flags)
        elif flags & O_NONBLOCK and not fifo.pipe.readers:
            if not fifo.users:
                fifo.forget()
            raise FsError(Errno.ENXIO)
        else:
            end = FifoWriter(fifo, flags)
        if flags & O_NONBLOCK:
            return end
        return (yield from wait_for_partner(fifo, end, reading=mode == O_RDONLY))

    def flock(self, f: File, op: int):
        """flock(2) through open file f, opened by path (a generator): 0 or -errno.  The
        lock goes with the open file: its last close drops it (file.release)."""
        key = (f.loc.mount, f.loc.node)
        table = self.flocks.get(key)
        if table is None:
            table = self.flocks[key] = FlockTable(self.wake, lambda: self.flocks.pop(key, None))
        return (yield from table.lock(f, op))


def dirent64(ino: int, next_off: int, dtype: int, name: bytes) -> bytes:
    """struct linux_dirent64, padded to 8 bytes."""
    reclen = (19 + len(name) + 1 + 7) & ~7
    return struct.pack('<QqHB', ino & (1 << 64) - 1, next_off, reclen, dtype) + name + bytes(reclen - 19 - len(name))
