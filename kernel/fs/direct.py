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
BRIDGE_BLOCKS = 2              # a read reads over a gap this short between two runs


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
    sequential, f.ra_next = offset == f.ra_next, offset + n
    runs, size, leaves = yield from v.call(_map(v.fs, f.ino, offset, n, sequential))
    memory = _pin_user(k, p, buf, -(-size // PAGE_SIZE) * PAGE_SIZE, writable=True)
    try:
        error = yield from _around_the_cache(k, v.cache, runs, memory, write=False, metadata=leaves)
    finally:
        _unpin(k, memory)
    k.vmstat['direct_read_bytes'] += size
    return error or size


def _map(fs, ino: int, offset: int, n: int, sequential: bool):
    """(runs, bytes there are, indirect blocks to read now): a sequential reader has the
    block map its reads after the next one need read while this one's data moves (the
    disk serves them in turn: a block the very next read needs would come after this
    read's data, too late), so it does not stop for them."""
    runs, _, size = yield from fs.read_runs(ino, offset, n)
    if not sequential or not size:
        return runs, size, []
    after = -(-(offset + size) // PAGE_SIZE)
    return runs, size, (yield from fs.leaves_ahead(ino, after, 2 * -(-n // PAGE_SIZE)))


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


def _around_the_cache(k, cache, runs, memory, write: bool, metadata=()):
    """Generator: DMA between the disk runs and the (pinned) memory runs, keeping the
    cache coherent: its dirty copies go to the disk first (a read must see them, and an
    older cached write must not land after ours), and its copies of these blocks are
    dropped after (stale now).  metadata: blocks to read into the cache meanwhile.
    Returns 0 or -EIO."""
    if cache.dirty_in(runs):
        yield from cache.sync()
    requests = _requests(k, cache, runs, memory, write)
    cache.prefetch_runs((), metadata=metadata)
    error = yield from _wait_all(requests)
    if error and any(addr is None for r in requests for addr, _ in r.segments):
        # the bad sector may be in a block read only to be discarded: again, run by run
        error = yield from _wait_all(_requests(k, cache, runs, memory, write, bridge=False))
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


def _requests(k, cache, runs, memory, write: bool, bridge: bool = True) -> list[BlockRequest]:
    """Submit transfers between the disk runs [(block or 0 for a hole, count)] and the
    memory runs [(physical address, length)] laid end to end; a hole read is zero-filled
    here (writes have none).  A read (with `bridge`) goes on over a gap of up to
    BRIDGE_BLOCKS between two runs (an indirect block, on a file written in one go),
    reading it into the driver's bit bucket, so that one command moves both runs."""
    per = PAGE_SIZE // cache.disk.sector_size
    pieces = iter(memory)
    addr, left = 0, 0
    requests = []
    segments, nbytes, lba, after = [], 0, 0, None      # after: the block after the last one

    def submit() -> None:
        nonlocal segments, nbytes, lba
        if segments:
            requests.append(cache.queue.submit(BlockRequest(
                cache.disk, lba, nbytes // cache.disk.sector_size, segments, write=write)))
            lba += nbytes // cache.disk.sector_size
        segments, nbytes = [], 0

    for block, count in runs:
        gap = block - after if block and after is not None else -1
        if segments and not (bridge and not write and 0 < gap <= BRIDGE_BLOCKS
                             and len(segments) + gap < REQUEST_SEGMENTS
                             and nbytes + gap * PAGE_SIZE < REQUEST_BYTES):
            submit()
        if segments:
            segments += [(None, PAGE_SIZE)] * gap
            nbytes += gap * PAGE_SIZE
        else:
            lba = cache.start_lba + block * per
        remaining = count * PAGE_SIZE
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
            if nbytes == REQUEST_BYTES or len(segments) == REQUEST_SEGMENTS:
                submit()
        after = block + count if block else None
    submit()
    return requests
