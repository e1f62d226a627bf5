"""ukern's asynchronous I/O calls (userland/include/ukern.h), on page-aligned buffers:

  ukern_aread(fd, buf, len, off)   start reading; returns a request id at once
  ukern_awrite(fd, buf, len, off)  start writing; returns a request id at once
  ukern_await(id)                  wait; bytes moved, or -EIO
  ukern_apoll(id)                  the same without waiting (-EAGAIN while in flight)

The mechanism is mm/aio.py.  A write error is also reported by the next fsync of the file.
"""

from ..errno import Errno
from ..fs.fserror import FsError
from ..fs.file import O_ACCMODE, O_RDONLY, O_WRONLY
from ..fs.vfs import InodeFile
from ..mm.frames import PAGE_SIZE
from ..mm.pagetable import P, USER_TOP
from ..mm.vm import Prot
from .args import s64

MAX_AIO = 64 << 20


def _check(k, p, fd: int, buf: int, length: int, off: int, writing: bool):
    """The open file, or a negative errno, for an aligned transfer of whole pages."""
    f = p.fds.get(fd)
    if f is None or (f.flags & O_ACCMODE) == (O_RDONLY if writing else O_WRONLY):
        return -Errno.EBADF
    if not isinstance(f, InodeFile) or f.vfs.fs.block_size != PAGE_SIZE:
        return -Errno.EINVAL
    off = s64(off)
    if buf % PAGE_SIZE or length % PAGE_SIZE or off % PAGE_SIZE or off < 0 or not 0 < length <= MAX_AIO:
        return -Errno.EINVAL
    if buf + length > USER_TOP:
        return -Errno.EFAULT
    need = Prot.WRITE if not writing else Prot.READ
    va = buf
    while va < buf + length:
        region = p.aspace.find(va)
        if region is None or not region.prot & need:
            return -Errno.EFAULT
        va = min(region.end, buf + length)
    return f


def sys_aread(k, p, fd: int, buf: int, length: int, off: int):
    f = _check(k, p, fd, buf, length, off, writing=False)
    if isinstance(f, int):
        return f
    v = f.vfs
    try:
        size = (yield from f.stat()).size
        pages = length // PAGE_SIZE
        first = off // PAGE_SIZE
        in_file = max(0, min(pages, (size + PAGE_SIZE - 1) // PAGE_SIZE - first))
        blocks = yield from v.call(v.fs.file_blocks(f.ino, first, in_file))
    except FsError as e:
        return -e.errno
    blocks += [0] * (pages - in_file)
    nbytes = max(0, min(length, size - off))
    return k.aio.start_read(p, v.cache, blocks, buf, nbytes).id


def sys_awrite(k, p, fd: int, buf: int, length: int, off: int):
    f = _check(k, p, fd, buf, length, off, writing=True)
    if isinstance(f, int):
        return f
    if not _all_resident(k, p, buf, length):
        return -Errno.ENOMEM                         # before the file changes
    v = f.vfs
    try:
        blocks = yield from v.call(v.fs.allocate(f.ino, off // PAGE_SIZE, length // PAGE_SIZE))
    except FsError as e:
        return -e.errno
    # Reclaim may have paged some out while the allocation waited for the disk.
    if not _all_resident(k, p, buf, length):
        return -Errno.ENOMEM
    return k.aio.start_write(p, v.cache, blocks, buf, length, lambda: v.record_write_error(f.ino)).id


RESIDENT_PASSES = 4      # fault-in passes before ukern_awrite gives up (ENOMEM)


def _all_resident(k, p, buf: int, length: int) -> bool:
    """Fault in the buffer's pages until every one is present at once, as the DMA needs
    (start_write pins them with no wait in between).  Under memory pressure faulting in
    the last pages can push the first ones out again; a buffer that memory cannot hold
    whole is refused rather than chased for ever."""
    user, pt = k.user(p), p.aspace.pt
    for attempt in range(RESIDENT_PASSES + 1):
        missing = [va for va in range(buf, buf + length, PAGE_SIZE) if not pt.lookup(va) & P]
        if not missing:
            return True
        if attempt < RESIDENT_PASSES:
            for va in missing:
                user.read(va, 1)
    return False


def sys_await(k, p, req_id: int):
    return (yield from k.aio.wait(p, req_id))


def sys_apoll(k, p, req_id: int) -> int:
    return k.aio.poll(p, req_id)
