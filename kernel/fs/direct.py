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


REQUEST_BYTES = 4 << 20        # one request moves at most this much
REQUEST_SEGMENTS = 128         # ... in at most this many pieces (the driver's PRDT holds 248)


def read(k, p, f, buf: int, n: int, offset: int):
    """O_DIRECT read (a generator): bytes read, or a negative errno.  The file's runs of
    consecutive blocks and the runs of contiguous frames behind the buffer are paired
    into requests of up to REQUEST_BYTES, each one DMA with a scatter list."""
    if buf % PAGE_SIZE or n % PAGE_SIZE or offset % PAGE_SIZE:
        return -Errno.EINVAL
    v = f.vfs
    runs, _, size = yield from v.call(v.fs.read_runs(f.ino, offset, n))
    if v.cache.dirty_in(runs):
        yield from v.cache.sync()            # the disk must hold the newest bytes first
    pinned = []
    try:
        memory = []
        for pa, length in k.user(p).phys_runs(buf, -(-size // PAGE_SIZE) * PAGE_SIZE, True):
            k.frames.pin_run(pa, length // PAGE_SIZE)   # before the next fault can reclaim
            pinned.append((pa, length // PAGE_SIZE))
            memory.append((pa, length))
        requests = _requests(k, v.cache, runs, memory)
        error = 0
        for req in requests:
            error = (yield from req.wait()) or error
    finally:
        for pa, count in pinned:
            k.frames.unpin_run(pa, count)
    v.cache.forget_runs(runs)
    k.vmstat['direct_read_bytes'] += size
    return error or size


def _requests(k, cache, runs, memory) -> list[BlockRequest]:
    """Submit reads of the disk runs [(block or 0 for a hole, count)] into the memory runs
    [(physical address, length)] laid end to end; holes are zero-filled here."""
    per = PAGE_SIZE // cache.disk.sector_size
    pieces = iter(memory)
    addr, left = 0, 0
    requests = []
    for block, count in runs:
        remaining = count * PAGE_SIZE
        lba = cache.start_lba + block * per
        segments, nbytes = [], 0
        while remaining:
            if not left:
                addr, left = next(pieces)
            take = min(left, remaining, REQUEST_BYTES - nbytes)
            if not block:
                k.machine.memory.fill(addr, take)       # a hole reads as zeros
            else:
                segments.append((addr, take))
                nbytes += take
            addr, left, remaining = addr + take, left - take, remaining - take
            if segments and (nbytes == REQUEST_BYTES or len(segments) == REQUEST_SEGMENTS or not remaining):
                requests.append(cache.queue.submit(BlockRequest(
                    cache.disk, lba, nbytes // cache.disk.sector_size, segments)))
                lba += nbytes // cache.disk.sector_size
                segments, nbytes = [], 0
    return requests


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
