"""Descriptor I/O system calls: read, write, readv, writev, ioctl."""

import struct

from ..errno import Errno
from ..dev.console import TERMIOS
from ..fs import direct
from ..fs.vfs import InodeFile, O_DIRECT
from ..fs.file import O_ACCMODE, O_RDONLY, O_WRONLY
from ..proc import lifecycle
from ..trap import Signal

IOV_MAX = 1024
MAX_IO = 0x7FFFF000          # Linux caps one transfer at this many bytes


def _file(p, fd: int, writing: bool):
    f = p.fds.get(fd)
    if f is None:
        return None
    mode = f.flags & O_ACCMODE
    if (writing and mode == O_RDONLY) or (not writing and mode == O_WRONLY):
        return None
    return f


def _direct(f) -> bool:
    return bool(f.flags & O_DIRECT) and isinstance(f, InodeFile)


def sys_read(k, p, fd: int, buf: int, count: int):
    f = _file(p, fd, writing=False)
    if f is None:
        return -Errno.EBADF
    k.user(p).check_range(buf, count)
    if _direct(f):
        n = yield from direct.read(k, p, f, buf, count, f.offset)
        f.offset += max(0, n)
        return n
    return (yield from f.read_into(k.user(p), buf, min(count, MAX_IO)))


def _write(k, p, f, data: bytes):
    n = yield from f.write(data)
    if n == -Errno.EPIPE:
        lifecycle.send(k, p, Signal.SIGPIPE)
    return n


def sys_write(k, p, fd: int, buf: int, count: int):
    f = _file(p, fd, writing=True)
    if f is None:
        return -Errno.EBADF
    if _direct(f):
        n = yield from direct.write(k, p, f, buf, count, f.offset)
        f.offset += max(0, n)
        return n
    data = k.user(p).read(buf, min(count, MAX_IO))
    return (yield from _write(k, p, f, data))


def _iovecs(k, p, iov: int, iovcnt: int) -> list[tuple[int, int]] | int:
    if not 0 <= iovcnt <= IOV_MAX:
        return -Errno.EINVAL
    raw = k.user(p).read(iov, 16 * iovcnt)
    return [struct.unpack_from('<QQ', raw, 16 * i) for i in range(iovcnt)]


def sys_writev(k, p, fd: int, iov: int, iovcnt: int):
    f = _file(p, fd, writing=True)
    if f is None:
        return -Errno.EBADF
    vecs = _iovecs(k, p, iov, iovcnt)
    if isinstance(vecs, int):
        return vecs
    mem = k.user(p)
    data = b''.join(mem.read(base, length) for base, length in vecs)
    return (yield from _write(k, p, f, data))


def sys_readv(k, p, fd: int, iov: int, iovcnt: int):
    f = _file(p, fd, writing=False)
    if f is None:
        return -Errno.EBADF
    vecs = _iovecs(k, p, iov, iovcnt)
    if isinstance(vecs, int):
        return vecs
    for base, length in vecs:
        k.user(p).check_range(base, length)
    data = yield from f.read(sum(length for _, length in vecs))
    if isinstance(data, int):
        return data
    mem, pos = k.user(p), 0
    for base, length in vecs:
        mem.write(base, data[pos:pos + length])
        pos += length
        if pos >= len(data):
            break
    return len(data)


class Ioctl:
    """ioctl request numbers (asm-generic/ioctls.h)."""
    TCGETS = 0x5401
    TCSETS = 0x5402
    TCSETSW = 0x5403
    TCSETSF = 0x5404
    TIOCGPGRP = 0x540F
    TIOCSPGRP = 0x5410
    TIOCGWINSZ = 0x5413
    FIONREAD = 0x541B


WINSIZE = struct.Struct('<HHHH')
TERMINAL_SIZE = (24, 80)


def sys_ioctl(k, p, fd: int, request: int, arg: int) -> int:
    f = p.fds.get(fd)
    if f is None:
        return -Errno.EBADF
    mem = k.user(p)
    if request == Ioctl.FIONREAD and hasattr(f, 'bytes_available'):
        mem.write(arg, struct.pack('<i', f.bytes_available()))    # pipes and the console
        return 0
    if not f.is_tty:
        return -Errno.ENOTTY
    tty = f.driver
    if request == Ioctl.TIOCGWINSZ:
        mem.write(arg, WINSIZE.pack(*TERMINAL_SIZE, 0, 0))
    elif request == Ioctl.TCGETS:
        mem.write(arg, tty.termios.pack())
    elif request in (Ioctl.TCSETS, Ioctl.TCSETSW, Ioctl.TCSETSF):
        tty.termios.unpack(mem.read(arg, TERMIOS.size))
    elif request == Ioctl.TIOCGPGRP:
        mem.write(arg, struct.pack('<i', tty.foreground))
    elif request == Ioctl.TIOCSPGRP:
        tty.foreground = struct.unpack('<i', mem.read(arg, 4))[0]
    else:
        return -Errno.EINVAL
    return 0
