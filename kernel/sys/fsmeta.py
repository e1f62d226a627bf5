"""File metadata and the rest of the file calls real programs use: links and symbolic
links, permissions, owners and times, umask, device nodes and FIFOs, preallocation, statx
and statfs, flock and fcntl record locks, sendfile, SEEK_DATA/SEEK_HOLE, and the size
ioctls of the raw disk.

Handlers are thin: they read and check the arguments and call the VFS (kernel/fs/vfs.py),
which finds the file's mount and asks its file system (on ext2, ext2_links.py and
ext2_attr.py under the mount lock; a file system that cannot do a change refuses it).
ukern has one user, root, so ownership and permission bits are kept and reported but
never refuse anything (except execve, which wants an x bit).
"""

import ctypes
import struct

from ..errno import Errno
from ..fs import vfs
from ..fs.ext2_layout import InodeType, S_IFMT
from ..fs.fifo import LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN
from ..fs.file import O_ACCMODE, O_RDONLY, O_WRONLY
from ..proc import lifecycle
from ..trap import Signal
from . import files, io
from .args import s32, s64
from .files import AT_EMPTY_PATH, AT_FDCWD, LinuxStat, _dir, _path, _vfs, fs_errors

AT_SYMLINK_NOFOLLOW = 0x100
AT_SYMLINK_FOLLOW = 0x400
AT_NO_AUTOMOUNT = 0x800
AT_STATX_SYNC_TYPE = 0x6000
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2
NO_CHANGE = 0xFFFFFFFF                 # chown's -1: leave this id alone
SEEK_DATA, SEEK_HOLE = 3, 4
FALLOC_FL_KEEP_SIZE = 0x01
PIPEFS_MAGIC = 0x50495045
ANON_INODE_FS_MAGIC = 0x09041934
ST_RDONLY = 0x0001                     # statfs f_flags: mounted read-only
SENDFILE_CHUNK = 1 << 16
BLKGETSIZE = 0x1260                    # size in 512-byte sectors (unsigned long)
BLKGETSIZE64 = 0x80081272              # size in bytes (u64)


# -- symbolic and hard links ---------------------------------------------------------------
@fs_errors
def sys_symlinkat(k, p, target_addr: int, dirfd: int, path_addr: int):
    target, path = _path(k, p, target_addr), _path(k, p, path_addr)
    if not target:
        return -Errno.ENOENT
    yield from _vfs(k).symlink(target, path, _dir(p, dirfd, path))
    return 0


def sys_symlink(k, p, target_addr: int, path_addr: int):
    return (yield from sys_symlinkat(k, p, target_addr, AT_FDCWD, path_addr))


@fs_errors
def sys_readlinkat(k, p, dirfd: int, path_addr: int, buf: int, bufsiz: int):
    if s32(bufsiz) <= 0:
        return -Errno.EINVAL
    path = _path(k, p, path_addr)
    if not path:
        return -Errno.ENOENT
    target = yield from _vfs(k).readlink(path, _dir(p, dirfd, path))
    target = target[:bufsiz]              # cut to fit, with no NUL, as Linux does
    k.user(p).write(buf, target)
    return len(target)


def sys_readlink(k, p, path_addr: int, buf: int, bufsiz: int):
    return (yield from sys_readlinkat(k, p, AT_FDCWD, path_addr, buf, bufsiz))


@fs_errors
def sys_linkat(k, p, olddirfd: int, old_addr: int, newdirfd: int, new_addr: int, flags: int):
    if flags & ~AT_SYMLINK_FOLLOW:
        return -Errno.EINVAL
    old, new = _path(k, p, old_addr), _path(k, p, new_addr)
    if not old or not new:
        return -Errno.ENOENT
    yield from _vfs(k).link(old, _dir(p, olddirfd, old), new, _dir(p, newdirfd, new),
                            follow=bool(flags & AT_SYMLINK_FOLLOW))
    return 0


def sys_link(k, p, old_addr: int, new_addr: int):
    return (yield from sys_linkat(k, p, AT_FDCWD, old_addr, AT_FDCWD, new_addr, 0))


def sys_lstat(k, p, path_addr: int, buf: int):
    return (yield from files.sys_newfstatat(k, p, AT_FDCWD, path_addr, buf, AT_SYMLINK_NOFOLLOW))


# -- which file a call is about --------------------------------------------------------------
def _fd_loc(p, fd: int):
    """Where the file open as fd is in the tree (a vfs.Cwd)."""
    f = p.fds.get(fd)
    if f is None:
        raise files.FsError(Errno.EBADF)
    if getattr(f, 'loc', None) is None:
        raise files.FsError(Errno.EINVAL)     # a pipe, or a file no path names
    return f.loc


def _at_loc(k, p, dirfd: int, path_addr: int, flags: int):
    """The file of a *at() call's (dirfd, path), following a final link unless
    AT_SYMLINK_NOFOLLOW; AT_EMPTY_PATH with "" means dirfd itself."""
    path = _path(k, p, path_addr)
    if not path:
        if not flags & AT_EMPTY_PATH:
            raise files.FsError(Errno.ENOENT)
        if s32(dirfd) == AT_FDCWD:
            return (yield from _vfs(k).resolve(b'.', p.cwd))
        return _fd_loc(p, dirfd)
    return (yield from _vfs(k).resolve(path, _dir(p, dirfd, path), follow=not flags & AT_SYMLINK_NOFOLLOW))


# -- permissions and owners ------------------------------------------------------------------
@fs_errors
def sys_fchmodat(k, p, dirfd: int, path_addr: int, mode: int):
    loc = yield from _at_loc(k, p, dirfd, path_addr, 0)
    yield from _vfs(k).set_attrs(loc, mode=mode & 0o7777)
    return 0


def sys_chmod(k, p, path_addr: int, mode: int):
    return (yield from sys_fchmodat(k, p, AT_FDCWD, path_addr, mode))


@fs_errors
def sys_fchmod(k, p, fd: int, mode: int):
    yield from _vfs(k).set_attrs(_fd_loc(p, fd), mode=mode & 0o7777)
    return 0


def _owners(uid: int, gid: int) -> dict:
    uid, gid = uid & 0xFFFFFFFF, gid & 0xFFFFFFFF
    return {'uid': None if uid == NO_CHANGE else uid, 'gid': None if gid == NO_CHANGE else gid}


@fs_errors
def sys_fchownat(k, p, dirfd: int, path_addr: int, uid: int, gid: int, flags: int):
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        return -Errno.EINVAL
    loc = yield from _at_loc(k, p, dirfd, path_addr, flags)
    yield from _vfs(k).set_attrs(loc, **_owners(uid, gid))
    return 0


def sys_chown(k, p, path_addr: int, uid: int, gid: int):
    return (yield from sys_fchownat(k, p, AT_FDCWD, path_addr, uid, gid, 0))


def sys_lchown(k, p, path_addr: int, uid: int, gid: int):
    return (yield from sys_fchownat(k, p, AT_FDCWD, path_addr, uid, gid, AT_SYMLINK_NOFOLLOW))


@fs_errors
def sys_fchown(k, p, fd: int, uid: int, gid: int):
    yield from _vfs(k).set_attrs(_fd_loc(p, fd), **_owners(uid, gid))
    return 0


def sys_umask(k, p, mask: int) -> int:
    old, p.fs_ctx.umask = p.fs_ctx.umask, mask & 0o777
    return old


# -- times ---------------------------------------------------------------------------------
def _time_value(k, sec: int, nsec: int) -> int | None:
    """Seconds to store for one timespec of utimensat, or None to leave it."""
    if nsec == UTIME_OMIT:
        return None
    if nsec == UTIME_NOW:
        return _vfs(k).now()
    if not 0 <= nsec < 1_000_000_000:
        raise files.FsError(Errno.EINVAL)
    return s64(sec)


@fs_errors
def sys_utimensat(k, p, dirfd: int, path_addr: int, times: int, flags: int):
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        return -Errno.EINVAL
    if times:
        asec, ansec, msec, mnsec = struct.unpack('<qqqq', k.user(p).read(times, 32))
        atime, mtime = _time_value(k, asec, ansec), _time_value(k, msec, mnsec)
        if atime is None and mtime is None:
            return 0
    else:
        atime = mtime = _vfs(k).now()
    if path_addr:
        loc = yield from _at_loc(k, p, dirfd, path_addr, flags)
    elif s32(dirfd) == AT_FDCWD:
        return -Errno.EFAULT
    else:
        loc = _fd_loc(p, dirfd)                # futimens: utimensat(fd, NULL, ...)
    yield from _vfs(k).set_attrs(loc, atime=atime, mtime=mtime)
    return 0


# -- creating -------------------------------------------------------------------------------
def sys_creat(k, p, path_addr: int, mode: int):
    return (yield from files.sys_openat(k, p, AT_FDCWD, path_addr,
                                        O_WRONLY | vfs.O_CREAT | vfs.O_TRUNC, mode))


def _decode_dev(dev: int) -> tuple[int, int]:
    """Linux's dev_t (new_decode_dev): 12 bits of major, 20 of minor, interleaved."""
    major = (dev >> 8) & 0xFFF | (dev >> 32) & ~0xFFF
    minor = dev & 0xFF | (dev >> 12) & ~0xFF & 0xFFFFF
    return major, minor


@fs_errors
def sys_mknodat(k, p, dirfd: int, path_addr: int, mode: int, dev: int):
    kind = mode & S_IFMT or InodeType.S_IFREG
    if kind not in (InodeType.S_IFREG, InodeType.S_IFCHR, InodeType.S_IFBLK,
                    InodeType.S_IFIFO, InodeType.S_IFSOCK):
        return -Errno.EPERM if kind == InodeType.S_IFDIR else -Errno.EINVAL
    path = _path(k, p, path_addr)
    perms = mode & 0o7777 & ~p.fs_ctx.umask
    major, minor = _decode_dev(dev) if kind in (InodeType.S_IFCHR, InodeType.S_IFBLK) else (0, 0)
    yield from _vfs(k).mknod(path, _dir(p, dirfd, path), kind | perms, major, minor)
    return 0


def sys_mknod(k, p, path_addr: int, mode: int, dev: int):
    return (yield from sys_mknodat(k, p, AT_FDCWD, path_addr, mode, dev))


@fs_errors
def sys_fallocate(k, p, fd: int, mode: int, offset: int, length: int):
    f = p.fds.get(fd)
    if f is None:
        return -Errno.EBADF
    if mode & ~FALLOC_FL_KEEP_SIZE:
        return -Errno.EOPNOTSUPP              # punching and zeroing ranges: not on ext2
    offset, length = s64(offset), s64(length)
    if offset < 0 or length <= 0:
        return -Errno.EINVAL
    if f.flags & O_ACCMODE == O_RDONLY:
        return -Errno.EBADF
    if hasattr(f, 'fallocate'):                   # tmpfs: the file's pages
        yield from f.fallocate(offset, length, bool(mode & FALLOC_FL_KEEP_SIZE))
        return 0
    if not isinstance(f, vfs.InodeFile):
        return -Errno.ESPIPE if not getattr(f, 'seekable', False) else -Errno.ENODEV
    yield from f.vfs.fallocate(f.ino, offset, length, bool(mode & FALLOC_FL_KEEP_SIZE))
    return 0


POSIX_FADV_DONTNEED_MAX = 5          # advice 0..5: NORMAL RANDOM SEQUENTIAL WILLNEED DONTNEED NOREUSE


def sys_fadvise64(k, p, fd: int, offset: int, length: int, advice: int) -> int:
    """posix_fadvise: advice about how a file will be read.  ukern's readahead follows what
    reads do, not what they announce, so valid advice is accepted and changes nothing."""
    f = p.fds.get(fd)
    if f is None:
        return -Errno.EBADF
    if not getattr(f, 'seekable', False):
        return -Errno.ESPIPE
    if not 0 <= s32(advice) <= POSIX_FADV_DONTNEED_MAX or s64(length) < 0:
        return -Errno.EINVAL
    return 0


# -- statx and statfs -------------------------------------------------------------------------
class StatxTimestamp(ctypes.LittleEndianStructure):
    _pack_ = 1
    _fields_ = [('tv_sec', ctypes.c_int64), ('tv_nsec', ctypes.c_uint32), ('pad', ctypes.c_int32)]


class Statx(ctypes.LittleEndianStructure):
    """struct statx (include/uapi/linux/stat.h)."""
    _pack_ = 1
    _fields_ = [('stx_mask', ctypes.c_uint32), ('stx_blksize', ctypes.c_uint32),
                ('stx_attributes', ctypes.c_uint64), ('stx_nlink', ctypes.c_uint32),
                ('stx_uid', ctypes.c_uint32), ('stx_gid', ctypes.c_uint32),
                ('stx_mode', ctypes.c_uint16), ('pad1', ctypes.c_uint16),
                ('stx_ino', ctypes.c_uint64), ('stx_size', ctypes.c_uint64),
                ('stx_blocks', ctypes.c_uint64), ('stx_attributes_mask', ctypes.c_uint64),
                ('stx_atime', StatxTimestamp), ('stx_btime', StatxTimestamp),
                ('stx_ctime', StatxTimestamp), ('stx_mtime', StatxTimestamp),
                ('stx_rdev_major', ctypes.c_uint32), ('stx_rdev_minor', ctypes.c_uint32),
                ('stx_dev_major', ctypes.c_uint32), ('stx_dev_minor', ctypes.c_uint32),
                ('spare', ctypes.c_uint64 * 14)]


assert ctypes.sizeof(Statx) == 256
STATX_BASIC_STATS = 0x7FF              # type, mode, nlink, uid, gid, atime, mtime, ctime, ino, size, blocks
STATX_RESERVED = 0x80000000


def _statx_of(st: LinuxStat) -> Statx:
    """What statx reports: stat's fields (ext2's 128-byte inodes keep no birth time)."""
    return Statx(stx_mask=STATX_BASIC_STATS, stx_blksize=st.st_blksize, stx_nlink=st.st_nlink,
                 stx_uid=st.st_uid, stx_gid=st.st_gid, stx_mode=st.st_mode, stx_ino=st.st_ino,
                 stx_size=st.st_size, stx_blocks=st.st_blocks,
                 stx_atime=StatxTimestamp(st.st_atime), stx_ctime=StatxTimestamp(st.st_ctime),
                 stx_mtime=StatxTimestamp(st.st_mtime),
                 stx_rdev_major=st.st_rdev >> 8 & 0xFFF, stx_rdev_minor=st.st_rdev & 0xFF,
                 stx_dev_major=st.st_dev >> 8 & 0xFFF, stx_dev_minor=st.st_dev & 0xFF)


@fs_errors
def sys_statx(k, p, dirfd: int, path_addr: int, flags: int, mask: int, buf: int):
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE) \
            or flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE or mask & STATX_RESERVED:
        return -Errno.EINVAL
    path = _path(k, p, path_addr)
    if not path and flags & AT_EMPTY_PATH and s32(dirfd) != AT_FDCWD:
        f = p.fds.get(dirfd)
        if f is None:
            return -Errno.EBADF
        raw = yield from files._fstat_file(f)
    else:
        if not path and not flags & AT_EMPTY_PATH:
            return -Errno.ENOENT
        loc = yield from _vfs(k).resolve(path or b'.', _dir(p, dirfd, path),
                                         follow=not flags & AT_SYMLINK_NOFOLLOW)
        raw = yield from files.stat_at(loc)
    k.user(p).write(buf, bytes(_statx_of(LinuxStat.from_buffer_copy(raw))))
    return 0


class LinuxStatfs(ctypes.LittleEndianStructure):
    """struct statfs for x86-64 (asm-generic/statfs.h with 64-bit longs)."""
    _pack_ = 1
    _fields_ = [('f_type', ctypes.c_int64), ('f_bsize', ctypes.c_int64),
                ('f_blocks', ctypes.c_uint64), ('f_bfree', ctypes.c_uint64),
                ('f_bavail', ctypes.c_uint64), ('f_files', ctypes.c_uint64),
                ('f_ffree', ctypes.c_uint64), ('f_fsid', ctypes.c_int32 * 2),
                ('f_namelen', ctypes.c_int64), ('f_frsize', ctypes.c_int64),
                ('f_flags', ctypes.c_int64), ('f_spare', ctypes.c_int64 * 4)]


assert ctypes.sizeof(LinuxStatfs) == 120


def _statfs_at(k, loc):
    """struct statfs of the file system that holds loc (a generator)."""
    magic, fs = yield from _vfs(k).statfs(loc)
    return LinuxStatfs(f_type=magic, f_bsize=fs.block_size, f_blocks=fs.blocks,
                       f_bfree=fs.free_blocks, f_bavail=max(0, fs.free_blocks - fs.reserved_blocks),
                       f_files=fs.inodes, f_ffree=fs.free_inodes, f_namelen=vfs.NAME_MAX,
                       f_frsize=fs.block_size, f_fsid=(ctypes.c_int32 * 2)(loc.mount.fs.dev, 0),
                       f_flags=ST_RDONLY if loc.mount.readonly else 0)


@fs_errors
def sys_statfs(k, p, path_addr: int, buf: int):
    path = _path(k, p, path_addr)
    loc = yield from _vfs(k).resolve(path, p.cwd)
    k.user(p).write(buf, bytes((yield from _statfs_at(k, loc))))
    return 0


@fs_errors
def sys_fstatfs(k, p, fd: int, buf: int):
    f = p.fds.get(fd)
    if f is None:
        return -Errno.EBADF
    if getattr(f, 'loc', None) is not None:
        out = yield from _statfs_at(k, f.loc)
    else:                   # not a file of a mounted file system: a pipe, epoll, eventfd ...
        magic = PIPEFS_MAGIC if hasattr(f, 'pipe') else ANON_INODE_FS_MAGIC
        out = LinuxStatfs(f_type=magic, f_bsize=4096, f_namelen=vfs.NAME_MAX, f_frsize=4096)
    k.user(p).write(buf, bytes(out))
    return 0


# -- locks ---------------------------------------------------------------------------------
@fs_errors
def sys_flock(k, p, fd: int, op: int):
    f = p.fds.get(fd)
    if f is None:
        return -Errno.EBADF
    if op & ~LOCK_NB not in (LOCK_SH, LOCK_EX, LOCK_UN):
        return -Errno.EINVAL
    if getattr(f, 'loc', None) is None:
        return 0                  # a pipe or socket: no other open file can share it
    return (yield from _vfs(k).flock(f, op))


F_GETLK, F_SETLK, F_SETLKW = 5, 6, 7
F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 36, 37, 38
F_RDLCK, F_WRLCK, F_UNLCK = 0, 1, 2
LOCK_COMMANDS = (F_GETLK, F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW)


class Flock(ctypes.LittleEndianStructure):
    """struct flock for x86-64 (asm-generic/fcntl.h)."""
    _pack_ = 1
    _fields_ = [('l_type', ctypes.c_int16), ('l_whence', ctypes.c_int16), ('pad0', ctypes.c_int32),
                ('l_start', ctypes.c_int64), ('l_len', ctypes.c_int64),
                ('l_pid', ctypes.c_int32), ('pad1', ctypes.c_int32)]


assert ctypes.sizeof(Flock) == 32


def _record_lock(k, p, f, cmd: int, arg: int) -> int:
    """POSIX and open-file-description record locks.  With one user whose processes
    take turns, ukern keeps no record locks: a lock is always granted and F_GETLK
    always finds the range free (F_UNLCK), after the checks Linux makes."""
    mem = k.user(p)
    lock = Flock.from_buffer_copy(mem.read(arg, ctypes.sizeof(Flock)))
    if lock.l_type not in (F_RDLCK, F_WRLCK, F_UNLCK) or lock.l_whence not in (0, 1, 2):
        return -Errno.EINVAL
    if cmd in (F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW) and lock.l_pid:
        return -Errno.EINVAL
    if cmd in (F_GETLK, F_OFD_GETLK):
        if lock.l_type == F_UNLCK:
            return -Errno.EINVAL
        lock.l_type = F_UNLCK
        mem.write(arg, bytes(lock))
        return 0
    access = f.flags & O_ACCMODE
    if (lock.l_type == F_RDLCK and access == O_WRONLY) or (lock.l_type == F_WRLCK and access == O_RDONLY):
        return -Errno.EBADF
    return 0


def sys_fcntl(k, p, fd: int, cmd: int, arg: int) -> int:
    """fcntl: the record-lock commands here, the rest in files.py."""
    f = p.fds.get(fd)
    if f is not None and cmd in LOCK_COMMANDS:
        return _record_lock(k, p, f, cmd, arg)
    return files.sys_fcntl(k, p, fd, cmd, arg)


# -- copying and seeking -----------------------------------------------------------------------
@fs_errors
def sys_sendfile(k, p, out_fd: int, in_fd: int, offset_addr: int, count: int):
    src, dst = p.fds.get(in_fd), p.fds.get(out_fd)
    if src is None or dst is None or src.flags & O_ACCMODE == O_WRONLY \
            or dst.flags & O_ACCMODE == O_RDONLY:
        return -Errno.EBADF
    if not hasattr(src, 'pread') or not getattr(src, 'seekable', False):
        return -Errno.EINVAL                   # the source must be a file one can mmap
    mem = k.user(p)
    pos = src.offset if not offset_addr else s64(mem.read_u64(offset_addr))
    if pos < 0:
        return -Errno.EINVAL
    count, done = min(count, io.MAX_IO), 0
    while done < count:
        data = yield from src.pread(min(SENDFILE_CHUNK, count - done), pos + done)
        if isinstance(data, int):
            return done or data
        if not data:
            break
        n = yield from dst.write(data)
        if n < 0:
            if n == -Errno.EPIPE:
                lifecycle.send(k, p, Signal.SIGPIPE)
            if not done:
                return n
            break
        done += n
        if n < len(data):
            break
    if offset_addr:
        mem.write_u64(offset_addr, pos + done)
    else:
        src.offset = pos + done
    return done


@fs_errors
def sys_lseek(k, p, fd: int, offset: int, whence: int):
    """lseek: SEEK_DATA and SEEK_HOLE from the ext2 block map or a tmpfs file's pages here,
    the rest in files.py."""
    if whence not in (SEEK_DATA, SEEK_HOLE):
        return (yield from files.sys_lseek(k, p, fd, offset, whence))
    f = p.fds.get(fd)
    if f is None:
        return -Errno.EBADF
    if not getattr(f, 'seekable', False):
        return -Errno.ESPIPE
    if hasattr(f, 'seek_data'):                   # tmpfs: the pages the file holds
        f.offset = yield from f.seek_data(s64(offset), want_hole=whence == SEEK_HOLE)
        return f.offset
    if not isinstance(f, vfs.InodeFile):
        return -Errno.EINVAL
    f.offset = yield from f.vfs.seek_data(f.ino, s64(offset), want_hole=whence == SEEK_HOLE)
    return f.offset


# -- the raw disk's size -------------------------------------------------------------------------
def sys_ioctl(k, p, fd: int, request: int, arg: int) -> int:
    """ioctl: BLKGETSIZE and BLKGETSIZE64 on a disk device here, the rest in io.py."""
    f = p.fds.get(fd)
    if f is not None and request & 0xFFFFFFFF in (BLKGETSIZE, BLKGETSIZE64):
        disk = getattr(f, 'disk', None)
        if disk is None:
            return -Errno.ENOTTY
        size = disk.sectors * disk.sector_size
        k.user(p).write_u64(arg, size if request & 0xFFFFFFFF == BLKGETSIZE64 else size // 512)
        return 0
    return io.sys_ioctl(k, p, fd, request, arg)
