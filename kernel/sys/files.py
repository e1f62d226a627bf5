"""File system calls: open, close, seek, stat, directories, names, descriptors.

Paths resolve in the VFS (fs/vfs.py) against the process's working directory; file
system errors (FsError) become the negative errno the call returns.  Every call that may
touch the disk is a generator.
"""

import ctypes
import functools
import struct

from ..errno import Errno
from ..fs.fserror import FsError
from ..fs.ext2_layout import InodeType
from ..fs.file import MAX_FDS, O_ACCMODE, O_RDONLY
from ..fs import direct, vfs
from ..fs.pipe import Pipe
from ..mm.uaccess import BadAddress
from .args import s32, s64, u32
from ..fs.vfs import Cwd, dirent64, O_CLOEXEC, O_DIRECTORY

AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_REMOVEDIR = 0x200
AT_EMPTY_PATH = 0x1000
AT_NO_AUTOMOUNT = 0x800
SEEK_SET, SEEK_CUR, SEEK_END = 0, 1, 2
F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_DUPFD_CLOEXEC = 0, 1, 2, 3, 4, 1030
FD_CLOEXEC = 1
STDIN_RDEV = (5 << 8) | 1                    # the console: character device 5, 1


class LinuxStat(ctypes.LittleEndianStructure):
    """struct stat for x86-64 (arch/x86/include/uapi/asm/stat.h)."""
    _pack_ = 1
    _fields_ = [('st_dev', ctypes.c_uint64), ('st_ino', ctypes.c_uint64),
                ('st_nlink', ctypes.c_uint64), ('st_mode', ctypes.c_uint32),
                ('st_uid', ctypes.c_uint32), ('st_gid', ctypes.c_uint32), ('pad0', ctypes.c_uint32),
                ('st_rdev', ctypes.c_uint64), ('st_size', ctypes.c_int64),
                ('st_blksize', ctypes.c_int64), ('st_blocks', ctypes.c_int64),
                ('st_atime', ctypes.c_int64), ('st_atime_nsec', ctypes.c_int64),
                ('st_mtime', ctypes.c_int64), ('st_mtime_nsec', ctypes.c_int64),
                ('st_ctime', ctypes.c_int64), ('st_ctime_nsec', ctypes.c_int64),
                ('reserved', ctypes.c_int64 * 3)]


assert ctypes.sizeof(LinuxStat) == 144


def fs_errors(handler):
    """Turn FsError raised inside a (generator) handler into its negative errno."""
    @functools.wraps(handler)
    def wrapper(*args):
        try:
            return (yield from handler(*args))
        except FsError as e:
            return -e.errno
    return wrapper


def _vfs(k):
    return k.vfs


def _path(k, p, addr: int) -> bytes:
    try:
        return k.user(p).read_cstr(addr, vfs.PATH_MAX)
    except BadAddress as e:
        if e.addr == addr + vfs.PATH_MAX:       # no NUL in PATH_MAX bytes: not a fault
            raise FsError(Errno.ENAMETOOLONG) from None
        raise


def _dir(p, dirfd: int, path: bytes) -> Cwd:
    """The directory a *at() call's relative path starts from."""
    if path.startswith(b'/') or s32(dirfd) == AT_FDCWD:
        return p.cwd
    f = p.fds.get(dirfd)
    if f is None:
        raise FsError(Errno.EBADF)
    if not isinstance(f, vfs.DirFile):
        raise FsError(Errno.ENOTDIR)
    return f.loc


# -- open and close ------------------------------------------------------------------------
@fs_errors
def sys_openat(k, p, dirfd: int, path_addr: int, flags: int, mode: int):
    path = _path(k, p, path_addr)
    if flags & vfs.O_CREAT and path.endswith(b'/'):
        return -Errno.EISDIR
    mode &= ~p.fs_ctx.umask
    f = yield from _vfs(k).open(path, flags, mode, _dir(p, dirfd, path))
    if flags & O_DIRECTORY and not hasattr(f, 'entries'):
        return -Errno.ENOTDIR
    return p.fds.install(f, cloexec=bool(flags & O_CLOEXEC))


def sys_open(k, p, path_addr: int, flags: int, mode: int):
    return (yield from sys_openat(k, p, AT_FDCWD, path_addr, flags, mode))


def sys_close(k, p, fd: int) -> int:
    return 0 if p.fds.close(fd) else -Errno.EBADF


# -- positions ------------------------------------------------------------------------------
@fs_errors
def sys_lseek(k, p, fd: int, offset: int, whence: int):
    f = p.fds.get(fd)
    if f is None:
        return -Errno.EBADF
    if not getattr(f, 'seekable', False):
        return -Errno.ESPIPE
    if getattr(f, 'positionless', False):
        return 0                        # /dev/null, /dev/zero: nowhere to move to
    offset = s64(offset)
    if whence == SEEK_SET:
        new = offset
    elif whence == SEEK_CUR:
        new = f.offset + offset
    elif whence == SEEK_END:
        new = (yield from f.stat()).size + offset
    else:
        return -Errno.EINVAL
    if new < 0:
        return -Errno.EINVAL
    f.offset = new
    return new


@fs_errors
def sys_pread64(k, p, fd: int, buf: int, count: int, offset: int):
    f = p.fds.get(fd)
    if f is None or f.flags & O_ACCMODE == 1:
        return -Errno.EBADF
    if s64(offset) < 0:
        return -Errno.EINVAL
    if not hasattr(f, 'pread'):
        return -Errno.ESPIPE
    k.user(p).check_range(buf, count)
    if f.flags & vfs.O_DIRECT and isinstance(f, vfs.InodeFile):
        return (yield from direct.read(k, p, f, buf, count, offset))
    if hasattr(f, 'pread_into'):
        return (yield from f.pread_into(k.user(p), buf, count, offset))
    data = yield from f.pread(count, offset)
    if isinstance(data, int):
        return data
    k.user(p).write(buf, data)
    return len(data)


@fs_errors
def sys_pwrite64(k, p, fd: int, buf: int, count: int, offset: int):
    f = p.fds.get(fd)
    if f is None or f.flags & O_ACCMODE == O_RDONLY:
        return -Errno.EBADF
    if s64(offset) < 0:
        return -Errno.EINVAL
    if not hasattr(f, 'pwrite'):
        return -Errno.ESPIPE
    if f.flags & vfs.O_DIRECT and isinstance(f, vfs.InodeFile):
        return (yield from direct.write(k, p, f, buf, count, offset))
    return (yield from f.pwrite(k.user(p).read(buf, count), offset))


# -- stat ----------------------------------------------------------------------------------
def _stat_bytes(st, dev: int = 0x801) -> bytes:
    """A Stat as the guest's struct stat; `dev` names the file system (so that the same
    inode number on two mounts is two files, as cp and find assume)."""
    s = LinuxStat(st_dev=dev, st_ino=st.ino, st_nlink=st.nlink, st_mode=st.mode,
                  st_uid=st.uid, st_gid=st.gid, st_rdev=(st.rdev_major << 8) | st.rdev_minor,
                  st_size=st.size, st_blksize=4096, st_blocks=st.blocks,
                  st_atime=st.atime, st_mtime=st.mtime, st_ctime=st.ctime)
    return bytes(s)


def _console_stat() -> bytes:
    return bytes(LinuxStat(st_mode=InodeType.S_IFCHR | 0o620, st_nlink=1, st_rdev=STDIN_RDEV,
                           st_blksize=1024))


def stat_at(loc: Cwd):
    """The guest's struct stat of the file at loc (a generator)."""
    st = yield from vfs.call(loc.mount.fs.stat(loc.node))
    return _stat_bytes(st, loc.mount.fs.dev)


def _fstat_file(f):
    if hasattr(f, 'stat'):
        loc = getattr(f, 'loc', None)
        dev = loc.mount.fs.dev if loc is not None else 0x801
        return _stat_bytes((yield from f.stat()), dev)
    return _console_stat()


@fs_errors
def sys_fstat(k, p, fd: int, buf: int):
    f = p.fds.get(fd)
    if f is None:
        return -Errno.EBADF
    k.user(p).write(buf, (yield from _fstat_file(f)))
    return 0


@fs_errors
def sys_newfstatat(k, p, dirfd: int, path_addr: int, buf: int, flags: int):
    if flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT):
        return -Errno.EINVAL
    path = _path(k, p, path_addr)
    if not path and flags & AT_EMPTY_PATH:
        return (yield from sys_fstat(k, p, dirfd, buf))
    loc = yield from _vfs(k).resolve(path, _dir(p, dirfd, path), follow=not flags & AT_SYMLINK_NOFOLLOW)
    k.user(p).write(buf, (yield from stat_at(loc)))
    return 0


def sys_stat(k, p, path_addr: int, buf: int):
    return (yield from sys_newfstatat(k, p, AT_FDCWD, path_addr, buf, 0))


@fs_errors
def sys_faccessat(k, p, dirfd: int, path_addr: int, mode: int):
    path = _path(k, p, path_addr)
    if mode & ~7:
        return -Errno.EINVAL
    yield from _vfs(k).access(path, mode, _dir(p, dirfd, path))
    return 0


def sys_access(k, p, path_addr: int, mode: int):
    return (yield from sys_faccessat(k, p, AT_FDCWD, path_addr, mode))


# -- directories ----------------------------------------------------------------------------
@fs_errors
def sys_getdents64(k, p, fd: int, buf: int, count: int):
    f = p.fds.get(fd)
    if f is None:
        return -Errno.EBADF
    if not hasattr(f, 'entries'):
        return -Errno.ENOTDIR
    if hasattr(f, 'entries_at'):
        # ext2: the offset is a byte position in the directory, which unlinking the
        # entries already returned does not move (so `rm -r` sees every entry)
        entries = yield from f.entries_at(f.offset, count)
    else:
        listing = yield from f.entries_from(f.offset)
        entries = [(name, ino, ftype, f.offset + i + 1) for i, (name, ino, ftype) in enumerate(listing)]
    out = bytearray()
    for name, ino, ftype, next_pos in entries:
        rec = dirent64(ino, next_pos, int(ftype), name)
        if len(out) + len(rec) > count:
            if not out:
                return -Errno.EINVAL
            break
        out += rec
        f.offset = next_pos
    k.user(p).write(buf, bytes(out))
    return len(out)


@fs_errors
def sys_mkdirat(k, p, dirfd: int, path_addr: int, mode: int):
    path = _path(k, p, path_addr)
    yield from _vfs(k).mkdir(path, mode & ~p.fs_ctx.umask, _dir(p, dirfd, path))
    return 0


def sys_mkdir(k, p, path_addr: int, mode: int):
    return (yield from sys_mkdirat(k, p, AT_FDCWD, path_addr, mode))


@fs_errors
def sys_unlinkat(k, p, dirfd: int, path_addr: int, flags: int):
    if flags & ~AT_REMOVEDIR:
        return -Errno.EINVAL
    path = _path(k, p, path_addr)
    yield from _vfs(k).unlink(path, _dir(p, dirfd, path), directory=bool(flags & AT_REMOVEDIR))
    return 0


def sys_unlink(k, p, path_addr: int):
    return (yield from sys_unlinkat(k, p, AT_FDCWD, path_addr, 0))


def sys_rmdir(k, p, path_addr: int):
    return (yield from sys_unlinkat(k, p, AT_FDCWD, path_addr, AT_REMOVEDIR))


@fs_errors
def sys_renameat2(k, p, olddirfd: int, old_addr: int, newdirfd: int, new_addr: int, flags: int):
    if flags:
        return -Errno.EINVAL
    old, new = _path(k, p, old_addr), _path(k, p, new_addr)
    yield from _vfs(k).rename(old, _dir(p, olddirfd, old), new, _dir(p, newdirfd, new))
    return 0


def sys_renameat(k, p, olddirfd: int, old_addr: int, newdirfd: int, new_addr: int):
    return (yield from sys_renameat2(k, p, olddirfd, old_addr, newdirfd, new_addr, 0))


def sys_rename(k, p, old_addr: int, new_addr: int):
    return (yield from sys_renameat2(k, p, AT_FDCWD, old_addr, AT_FDCWD, new_addr, 0))


@fs_errors
def sys_chdir(k, p, path_addr: int):
    path = _path(k, p, path_addr)
    p.cwd.move_to((yield from _vfs(k).chdir(path, p.cwd)))      # in place: CLONE_FS threads share it
    return 0


def sys_fchdir(k, p, fd: int) -> int:
    f = p.fds.get(fd)
    if f is None:
        return -Errno.EBADF
    if not isinstance(f, vfs.DirFile):
        return -Errno.ENOTDIR
    p.cwd.move_to(f.loc)
    return 0


def sys_getcwd(k, p, buf: int, size: int) -> int:
    path = p.cwd.path + b'\0'
    if size < len(path):
        return -Errno.ERANGE
    k.user(p).write(buf, path)
    return len(path)


# -- sizes and syncing ----------------------------------------------------------------------
@fs_errors
def sys_ftruncate(k, p, fd: int, length: int):
    f = p.fds.get(fd)
    if f is None or f.flags & O_ACCMODE == O_RDONLY:
        return -Errno.EBADF if f is None else -Errno.EINVAL
    if not hasattr(f, 'truncate') or length >= 1 << 63:
        return -Errno.EINVAL
    yield from f.truncate(length)
    return 0


@fs_errors
def sys_truncate(k, p, path_addr: int, length: int):
    path = _path(k, p, path_addr)
    if length >= 1 << 63:
        return -Errno.EINVAL
    yield from _vfs(k).truncate(path, length, p.cwd)
    return 0


@fs_errors
def sys_fsync(k, p, fd: int):
    f = p.fds.get(fd)
    if f is None:
        return -Errno.EBADF
    if hasattr(f, 'sync'):
        yield from f.sync()
    return 0


@fs_errors
def sys_sync(k, p):
    if k.objects is not None:
        yield from k.objects.sync()          # a checkpoint, committed
    yield from k.vfs.sync()
    return 0


# -- pipes ------------------------------------------------------------------------------------
def sys_pipe2(k, p, fds_addr: int, flags: int) -> int:
    if flags & ~(O_CLOEXEC | vfs.O_NONBLOCK | vfs.O_DIRECT):
        return -Errno.EINVAL
    k.user(p).write(fds_addr, bytes(8))               # EFAULT before anything is created
    reader, writer = Pipe(k.wake).ends(flags & vfs.O_NONBLOCK)
    cloexec = bool(flags & O_CLOEXEC)
    rfd = p.fds.install(reader, cloexec=cloexec)
    if rfd < 0:
        return rfd
    wfd = p.fds.install(writer, cloexec=cloexec)
    if wfd < 0:
        p.fds.close(rfd)
        return wfd
    k.user(p).write(fds_addr, struct.pack('<ii', rfd, wfd))
    return 0


def sys_pipe(k, p, fds_addr: int) -> int:
    return sys_pipe2(k, p, fds_addr, 0)


# -- descriptors ------------------------------------------------------------------------------
def sys_dup(k, p, fd: int) -> int:
    f = p.fds.get(u32(fd))
    return -Errno.EBADF if f is None else p.fds.install(f)


def sys_dup3(k, p, oldfd: int, newfd: int, flags: int) -> int:
    # Descriptors are unsigned int: the upper halves of the registers are not part of them
    # (else a newfd of 2**63 would pass the range check and be returned as a negative result).
    oldfd, newfd = u32(oldfd), u32(newfd)
    f = p.fds.get(oldfd)
    if f is None:
        return -Errno.EBADF
    if flags & ~O_CLOEXEC:
        return -Errno.EINVAL
    if newfd >= MAX_FDS:
        return -Errno.EBADF
    if oldfd == newfd:
        return -Errno.EINVAL
    p.fds.put(newfd, f, cloexec=bool(flags & O_CLOEXEC))
    return newfd


def sys_dup2(k, p, oldfd: int, newfd: int) -> int:
    oldfd, newfd = u32(oldfd), u32(newfd)
    if oldfd == newfd:
        return newfd if p.fds.get(oldfd) is not None else -Errno.EBADF
    return sys_dup3(k, p, oldfd, newfd, 0)


def sys_fcntl(k, p, fd: int, cmd: int, arg: int) -> int:
    f = p.fds.get(fd)
    if f is None:
        return -Errno.EBADF
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        return p.fds.install(f, lowest=arg, cloexec=cmd == F_DUPFD_CLOEXEC)
    if cmd == F_GETFD:
        return FD_CLOEXEC if p.fds.cloexec(fd) else 0
    if cmd == F_SETFD:
        p.fds.set_cloexec(fd, bool(arg & FD_CLOEXEC))
        return 0
    if cmd == F_GETFL:
        return f.flags & ~O_CLOEXEC
    if cmd == F_SETFL:
        f.flags = (f.flags & O_ACCMODE) | (arg & ~O_ACCMODE & (vfs.O_APPEND | vfs.O_NONBLOCK))
        return 0
    return -Errno.EINVAL
