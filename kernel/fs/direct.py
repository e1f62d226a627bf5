"""Direct I/O (seed 003): DMA straight between the disk and a process's own frames.

A file opened with O_DIRECT reads and writes page-aligned buffers without the buffer
cache: the user's frames are faulted in, pinned for the transfer, and named in the
commands' PRDTs.  Cached copies of the same blocks are written back first (if dirty) and
dropped after, so buffered and direct readers agree.  Nothing is copied by the CPU.
"""

from ..dev.blk import BlockRequest
from ..errno import Errno
from ..mm.frames import PAGE_SIZE
from .bbuf import runs_of
from .fserror import FsError


REQUEST_BYTES = 4 << 20        # one request moves at most this much
REQUEST_SEGMENTS = 128         # ... in at most this many pieces (the driver's PRDT holds 248)


def transfer(k, cache, pairs: list[tuple[int, int]], write: bool):
    """DMA each (block, frame) pair (a generator); returns 0 or -EIO.  The frames must be
    pinned by the caller for as long as this runs."""
    requests = _requests(k, cache, [(block, 1) for block, _ in pairs],
                         [(frame, PAGE_SIZE) for _, frame in pairs], write)
    return (yield from _wait_all(requests))


def read(k, p, f, buf: int, n: int, offset: int):
    """O_DIRECT read (a generator): bytes read, or a negative errno.  The file's runs of
    consecutive blocks and the runs of contiguous frames behind the buffer are paired
    into requests of up to REQUEST_BYTES, each one DMA with a scatter list."""
    if buf % PAGE_SIZE or n % PAGE_SIZE or offset % PAGE_SIZE:
        return -Errno.EINVAL
    v = f.vfs
    runs, _, size = yield from v.call(v.fs.read_runs(f.ino, offset, n))
    memory = _pin_user(k, p, buf, -(-size // PAGE_SIZE) * PAGE_SIZE, writable=True)
    try:
        error = yield from _around_the_cache(k, v.cache, runs, memory, write=False)
    finally:
        _unpin(k, memory)
    k.vmstat['direct_read_bytes'] += size
    return error or size


def write(k, p, f, buf: int, n: int, offset: int):
    """O_DIRECT write (a generator): bytes written, or a negative errno."""
    if buf % PAGE_SIZE or n % PAGE_SIZE or offset % PAGE_SIZE:
        return -Errno.EINVAL
    v = f.vfs
    memory = _pin_user(k, p, buf, n, writable=False)
    try:
        try:
            blocks = yield from v.call(v.fs.allocate(f.ino, offset // PAGE_SIZE, n // PAGE_SIZE))
        except FsError as e:
            return -e.errno
        error = yield from _around_the_cache(k, v.cache, runs_of(blocks), memory, write=True)
    finally:
        _unpin(k, memory)
    k.vmstat['direct_write_bytes'] += n
    return error or n


def _around_the_cache(k, cache, runs, memory, write: bool):
    """Generator: DMA between the disk runs and the (pinned) memory runs, keeping the
    cache coherent: its dirty copies go to the disk first (a read must see them, and an
    older cached write must not land after ours), and its copies of these blocks are
    dropped after (stale now).  Returns 0 or -EIO."""
    if cache.dirty_in(runs):
        yield from cache.sync()
    error = yield from _wait_all(_requests(k, cache, runs, memory, write))
    cache.forget_runs(runs)
    return error


def _pin_user(k, p, buf: int, nbytes: int, writable: bool) -> list[tuple[int, int]]:
    """The runs of frames behind a user buffer, faulted in (copy-on-write broken for a
    read into it) and pinned as each is found, before the next fault can reclaim it."""
    memory = []
    for pa, length in k.user(p).phys_runs(buf, nbytes, writable):
        k.frames.pin_run(pa, length // PAGE_SIZE)
        memory.append((pa, length))
    return memory


def _unpin(k, memory) -> None:
    for pa, length in memory:
        k.frames.unpin_run(pa, length // PAGE_SIZE)


def _wait_all(requests):
    """Generator: wait for every request (all submitted first, so the elevator can merge
    them); 0 or the last -errno."""
    error = 0
    for req in requests:
        error = (yield from req.wait()) or error
    return error


def _requests(k, cache, runs, memory, write: bool) -> list[BlockRequest]:
    """Submit transfers between the disk runs [(block or 0 for a hole, count)] and the
    memory runs [(physical address, length)] laid end to end; a hole read is zero-filled
    here (writes have none)."""
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
                    cache.disk, lba, nbytes // cache.disk.sector_size, segments, write=write)))
                lba += nbytes // cache.disk.sector_size
                segments, nbytes = [], 0
    return requests
