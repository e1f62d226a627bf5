"""Direct I/O (seed 003): DMA straight between the disk and a process's own frames.

A file opened with O_DIRECT reads and writes page-aligned buffers without the buffer
cache: the user's frames are faulted in, pinned for the transfer, and named in the
commands' PRDTs.  Cached copies of the same blocks are written back first (if dirty) and
dropped after, so buffered and direct readers agree.  Nothing is copied by the CPU.
"""

from ..dev.blk import BlockRequest
from ..errno import Errno
from ..mm.frames import PAGE_SIZE
from .ext2 import FsError


def transfer(k, cache, pairs: list[tuple[int, int]], write: bool):
    """DMA each (block, frame) pair (a generator); returns 0 or -EIO.  The frames must be
    pinned by the caller for as long as this runs."""
    per = PAGE_SIZE // cache.disk.sector_size
    requests = [cache.queue.submit(BlockRequest(cache.disk, cache.start_lba + block * per, per,
                                                [(frame, PAGE_SIZE)], write=write))
                for block, frame in pairs]
    error = 0
    for req in requests:                     # all submitted first: the elevator merges them
        error = (yield from req.wait()) or error
    return error


def _user_frames(k, p, buf: int, pages: int, writable: bool) -> list[int]:
    """The frames behind a user buffer, faulted in (copy-on-write broken for a read into it)."""
    user = k.user(p)
    return [user.frame_of(buf + i * PAGE_SIZE, writable) for i in range(pages)]


def read(k, p, f, buf: int, n: int, offset: int):
    """O_DIRECT read (a generator): bytes read, or a negative errno."""
    if buf % PAGE_SIZE or n % PAGE_SIZE or offset % PAGE_SIZE:
        return -Errno.EINVAL
    v = f.vfs
    size = (yield from f.stat()).size
    n = max(0, min(n, (size - offset + PAGE_SIZE - 1) // PAGE_SIZE * PAGE_SIZE))
    pages = n // PAGE_SIZE
    blocks = yield from v.call(v.fs.file_blocks(f.ino, offset // PAGE_SIZE, pages))
    if v.cache.has_dirty(blocks):
        yield from v.cache.sync()            # the disk must hold the newest bytes first
    frames = _user_frames(k, p, buf, pages, writable=True)
    for frame, block in zip(frames, blocks):
        if not block:
            k.machine.memory.fill(frame, PAGE_SIZE)      # a hole reads as zeros
    error = yield from _pinned(k, frames, transfer(k, v.cache, [(b, fr) for b, fr in zip(blocks, frames) if b], False))
    for block in blocks:
        v.cache.forget(block)
    k.vmstat['direct_read_bytes'] += n
    return error or max(0, min(n, size - offset))


def write(k, p, f, buf: int, n: int, offset: int):
    """O_DIRECT write (a generator): bytes written, or a negative errno."""
    if buf % PAGE_SIZE or n % PAGE_SIZE or offset % PAGE_SIZE:
        return -Errno.EINVAL
    v = f.vfs
    pages = n // PAGE_SIZE
    frames = _user_frames(k, p, buf, pages, writable=False)
    try:
        blocks = yield from v.call(v.fs.allocate(f.ino, offset // PAGE_SIZE, pages))
    except FsError as e:
        return -e.errno
    if v.cache.has_dirty(blocks):
        yield from v.cache.sync()            # an older cached write must not land after ours
    error = yield from _pinned(k, frames, transfer(k, v.cache, list(zip(blocks, frames)), True))
    for block in blocks:
        v.cache.forget(block)
    k.vmstat['direct_write_bytes'] += n
    return error or n


def _pinned(k, frames, gen):
    for frame in frames:
        k.frames.pin(frame)
    try:
        return (yield from gen)
    finally:
        for frame in frames:
            k.frames.unpin(frame)
