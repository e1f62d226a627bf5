"""The buffer cache: the BlockDevice a mounted file system reads and writes through.

BufferCache(kernel, queue, disk, start_lba) serves one partition of a disk: block n of
the file system is the block_size bytes at sector start_lba + n * block_size /
sector_size.  It implements the BlockDevice protocol (kernel/fs/blockdev.py):

    data = yield from cache.read_block(n)        # a hit returns at once, a miss DMAs
    yield from cache.write_block(n, data)        # write-back: the block becomes dirty
    yield from cache.sync()                      # write every dirty block, FLUSH CACHE
    cache.flush()                                # the same, synchronously, at shutdown

Every cached block lives in its own kernel frame (a 1 KiB block too: simple, and a frame
is what a DMA segment is made of), read and written by the disk straight into that frame.
The block layer pins the frame from submit until the DMA completes.  Blocks are keyed by
(block_size, n), so the 1 KiB superblock read that ext2 does before it knows its block
size never aliases a block of the real size; when block_size changes the clean idle
blocks of the old size are dropped.  (Dirty blocks of the old size stay until sync writes
them; file systems change block_size only at mount, before writing anything.)

Caching policy: at most `max_blocks` blocks (default a quarter of RAM's frames); when
full, the least recently used clean, idle block is evicted (its frame freed).  Dirty
blocks are never evicted; when more than `dirty_limit` are dirty, write_block syncs.
Statistics: hits, misses, reads and writes (requests issued), evictions.

Boot-time use: run_boot(kernel, gen) drives any of these generators when no process
runs (it waits for each yielded WaitQueue with kernel.run_until), and
mount_root(kernel, disk, partition=1) reads the MBR, builds the cache over the
partition and mounts ext2 on it.
"""

from __future__ import annotations

from collections import OrderedDict

from kernel.dev.blk import BlockRequest
from kernel.errno import Errno
from kernel.fs.ext2 import Ext2, FsError
from kernel.mm.frames import PAGE_SIZE
from kernel.proc.wait import Sleep, WaitQueue

from kernel.sys.time import EPOCH_NS

from emu.ahci import AtaCommand

FLUSH_COMMAND = AtaCommand.FLUSH_CACHE_EXT


class Buffer:
    __slots__ = ('size', 'n', 'frame', 'valid', 'dirty', 'version', 'io', 'readahead', 'dirtied_at')

    def __init__(self, size: int, n: int, frame: int):
        self.size = size
        self.n = n
        self.frame = frame
        self.valid = False          # holds the block's data
        self.dirty = False          # newer than the disk
        self.version = 0            # bumped by every write_block
        self.io: BlockRequest | None = None     # the read or write in flight
        self.readahead = False      # read ahead of need, and not used yet
        self.dirtied_at = 0         # virtual time it became dirty (for writeback by age)

    @property
    def idle(self) -> bool:
        return self.io is None


class BufferCache:
    def __init__(self, kernel, queue, disk, start_lba: int = 0, block_size: int = 1024,
                 nsectors: int | None = None, max_blocks: int | None = None,
                 dirty_limit: int | None = None, flush_cache: bool = True):
        self.kernel = kernel
        self.queue = queue
        self.disk = disk
        self.start_lba = start_lba
        self.nsectors = disk.sectors - start_lba if nsectors is None else nsectors
        self.max_blocks = max_blocks or max(16, kernel.frames.total // 4)
        self.dirty_limit = dirty_limit or max(8, self.max_blocks // 2)
        self.flush_cache = flush_cache          # send FLUSH CACHE EXT after a sync's writes
        self._bufs: OrderedDict[tuple[int, int], Buffer] = OrderedDict()   # LRU first
        self._writeback_armed = False
        self._dirty: set[tuple[int, int]] = set()
        self._block_size = 0
        self.block_size = block_size
        self.hits = self.misses = self.reads = self.writes = self.evictions = 0

    # -- block size ----------------------------------------------------------------------
    @property
    def block_size(self) -> int:
        return self._block_size

    @block_size.setter
    def block_size(self, size: int) -> None:
        if size <= 0 or size % self.disk.sector_size or size > PAGE_SIZE:
            raise ValueError(f'block size {size}: must be whole {self.disk.sector_size}-byte '
                             f'sectors and fit a {PAGE_SIZE}-byte frame')
        if size != self._block_size:
            for key, buf in list(self._bufs.items()):
                if buf.size != size and buf.idle and not buf.dirty:
                    self._drop(key, buf)
        self._block_size = size

    # -- helpers ---------------------------------------------------------------------------
    @property
    def memory(self):
        return self.kernel.machine.memory

    def _lba(self, size: int, n: int) -> int:
        per = size // self.disk.sector_size
        if n < 0 or (n + 1) * per > self.nsectors:
            raise FsError(Errno.EIO, f'block {n} lies beyond the end of the partition')
        return self.start_lba + n * per

    def _drop(self, key, buf: Buffer) -> None:
        del self._bufs[key]
        if buf.readahead:
            self.kernel.vmstat['readahead_wasted'] += 1
        self.kernel.frames.release(buf.frame)

    def _make_room(self) -> None:
        while len(self._bufs) >= self.max_blocks:
            victim = next(((k, b) for k, b in self._bufs.items()
                           if b.valid and not b.dirty and b.idle and not self.mapped(b)
                           and not self.kernel.frames.pinned(b.frame)), None)
            if victim is None:
                return              # everything is dirty or busy: run over the cap
            self._drop(*victim)
            self.evictions += 1

    def _new_buffer(self, key) -> Buffer:
        self._make_room()
        buf = Buffer(key[0], key[1], self.kernel.frames.alloc(zero=False))
        self._bufs[key] = buf
        return buf

    def _submit(self, buf: Buffer, write: bool) -> BlockRequest:
        """Start a read or write of buf; the buffer's state is updated at completion (in
        the bottom half, by on_done), whether or not the submitter is still waiting."""
        version = buf.version
        key = (buf.size, buf.n)

        def done(req: BlockRequest) -> None:
            if buf.io is req:
                buf.io = None
            if write:
                if not req.error and buf.version == version:
                    buf.dirty = False
                    self._dirty.discard(key)
            elif req.error:
                if self._bufs.get(key) is buf:
                    self._drop(key, buf)
            else:
                buf.valid = True

        req = BlockRequest(self.disk, self._lba(buf.size, buf.n), buf.size // self.disk.sector_size,
                           [(buf.frame, buf.size)], write=write, on_done=done)
        buf.io = req
        self.queue.submit(req)
        if write:
            self.writes += 1
            self.kernel.vmstat['cache_blocks_written'] += 1
        else:
            self.reads += 1
            self.kernel.vmstat['cache_blocks_read'] += 1
        return req

    def mapped(self, buf: Buffer) -> bool:
        """Is the block's frame mapped into some process (mmap)?  Then it must stay."""
        return self.kernel.frames.refs(buf.frame) > 1

    # -- the page cache's view: a 4 KiB block is a file page, mapped by mmap ---------------
    def page(self, n: int) -> Buffer | None:
        """The buffer of block n, if cached (valid or on its way)."""
        buf = self._bufs.get((self._block_size, n))
        if buf is not None:
            self._bufs.move_to_end((self._block_size, n))
        return buf

    def mark_dirty(self, n: int) -> None:
        """A mapped page was written through its mapping (its PTE's Dirty bit)."""
        key = (self._block_size, n)
        buf = self._bufs.get(key)
        if buf is not None and buf.valid:
            self._make_dirty(key, buf)

    # -- writeback: dirty blocks go to the disk in the background -------------------------------
    WRITEBACK_AGE_NS = 500_000_000         # a block dirty this long is written back (0.5 s)

    def _make_dirty(self, key, buf: Buffer) -> None:
        if not buf.dirty:
            buf.dirtied_at = self.kernel.clock.now
        buf.dirty = True
        buf.version += 1
        self._dirty.add(key)
        if not self._writeback_armed:
            self._writeback_armed = True
            self.kernel.clock.schedule_in(self.WRITEBACK_AGE_NS, self._writeback)

    def _writeback(self) -> None:
        """Start writing the blocks dirty for longer than the age, without waiting (early
        writeback, so reclaim finds clean pages and a crash loses little)."""
        self._writeback_armed = False
        now = self.kernel.clock.now
        old = [key for key in sorted(self._dirty)
               if self._bufs[key].idle and now - self._bufs[key].dirtied_at >= self.WRITEBACK_AGE_NS]
        for key in old:
            self._submit(self._bufs[key], write=True)
        self.kernel.vmstat['writeback_pages'] += len(old)
        if old and self.kernel.trace.enabled:
            self.kernel._emit('writeback', None, blocks=len(old), reason='age')
        if self._dirty and len(old) < len(self._dirty):
            self._writeback_armed = True
            self.kernel.clock.schedule_in(self.WRITEBACK_AGE_NS, self._writeback)

    def start_writeback(self) -> int:
        """Dirty blocks have passed their share of memory: start writing them all now."""
        keys = [key for key in sorted(self._dirty) if self._bufs[key].idle]
        for key in keys:
            self._submit(self._bufs[key], write=True)
        self.kernel.vmstat['writeback_pages'] += len(keys)
        return len(keys)

    @property
    def dirty_count(self) -> int:
        return len(self._dirty)

    def cached(self, n: int) -> bool:
        buf = self._bufs.get((self._block_size, n))
        return buf is not None and buf.valid

    # -- the BlockDevice protocol ----------------------------------------------------------
    def read_block(self, n: int):
        size = self._block_size
        key = (size, n)
        self._lba(size, n)                       # EIO for blocks outside the partition
        counted = False
        while True:
            buf = self._bufs.get(key)
            if buf is not None and buf.valid:
                if not counted:
                    self.hits += 1
                self._used(buf)
                self._bufs.move_to_end(key)
                return self.memory.read(buf.frame, size)
            if buf is not None:                  # someone else's read is in flight
                if not counted:
                    self.hits += 1
                    counted = True
                self._used(buf)
                yield from buf.io.wait()
                continue
            self.misses += 1
            counted = True
            buf = self._new_buffer(key)
            req = self._submit(buf, write=False)
            error = yield from req.wait()
            if error:
                raise FsError(Errno.EIO, f'read of block {n} failed ({error})')

    def prefetch(self, blocknos, readahead: bool = False) -> int:
        """Start reads of the blocks not yet cached, all at once and without waiting, so
        the elevator can merge neighbours into large commands (a multi-block read, and
        readahead).  Returns how many reads were started."""
        size = self._block_size
        started = 0
        for n in blocknos:
            key = (size, n)
            if key in self._bufs:
                continue
            self._lba(size, n)
            buf = self._new_buffer(key)
            buf.readahead = readahead
            self._submit(buf, write=False)
            started += 1
        if readahead and started:
            self.kernel.vmstat['readahead_pages'] += started
            if self.kernel.trace.enabled:
                self.kernel._emit('readahead', None, blocks=started, first=min(blocknos))
        return started

    def _used(self, buf: Buffer) -> None:
        if buf.readahead:
            buf.readahead = False
            self.kernel.vmstat['readahead_hits'] += 1

    def write_block(self, n: int, data: bytes):
        size = self._block_size
        if len(data) != size:
            raise ValueError(f'write of {len(data)} bytes to a {size}-byte block')
        key = (size, n)
        self._lba(size, n)
        while True:
            buf = self._bufs.get(key)
            if buf is None:
                buf = self._new_buffer(key)      # a whole block: no need to read it first
                break
            if buf.valid:
                break
            yield from buf.io.wait()             # a read in flight would overwrite us
        self.memory.write(buf.frame, bytes(data))
        buf.valid = True
        self._make_dirty(key, buf)
        self._bufs.move_to_end(key)
        if self.dirty_count > self.dirty_limit:
            yield from self.sync()               # the writer has outrun the disk: it waits
        elif self.dirty_count > self.dirty_limit // 2:
            self.start_writeback()               # early writeback: the disk starts on them now

    def sync(self):
        """Generator: write every dirty block (all submitted before any wait, so the
        elevator can sort and merge them), then FLUSH CACHE; raises FsError(EIO) if a
        write failed (that block stays dirty)."""
        while True:                              # wait for writes already in flight
            busy = next((self._bufs[k] for k in self._dirty if not self._bufs[k].idle), None)
            if busy is None:
                break
            yield from busy.io.wait()
        batch = [self._submit(self._bufs[key], write=True) for key in sorted(self._dirty)]
        failed = 0
        for req in batch:
            if (yield from req.wait()):
                failed += 1
        if batch and self.flush_cache:
            req = BlockRequest(self.disk, 0, 0, [], command=FLUSH_COMMAND)
            self.queue.submit(req)
            if (yield from req.wait()):
                failed += 1
        if failed:
            raise FsError(Errno.EIO, f'{failed} block writes failed')

    def flush(self) -> None:
        """Synchronous sync for shutdown, when no process runs."""
        run_boot(self.kernel, self.sync())

    def forget(self, n: int) -> None:
        """Direct I/O moved block n around the cache: drop a clean copy (it may be stale)."""
        key = (self._block_size, n)
        buf = self._bufs.get(key)
        if buf is not None and buf.idle and not buf.dirty and not self.mapped(buf):
            self._drop(key, buf)

    def has_dirty(self, blocknos) -> bool:
        return any((self._block_size, n) in self._dirty for n in blocknos)

    def shrink(self, want: int) -> int:
        """Memory is short: give back up to `want` frames of clean, idle, unmapped blocks,
        least recently used first.  Returns how many were freed."""
        freed = 0
        for key, buf in list(self._bufs.items()):
            if freed >= want:
                break
            if buf.valid and buf.idle and not buf.dirty and not self.mapped(buf) \
                    and not self.kernel.frames.pinned(buf.frame):
                self._drop(key, buf)
                self.evictions += 1
                freed += 1
        self.kernel.vmstat['pgsteal_cache'] += freed
        return freed

    def invalidate(self) -> None:
        """Forget every clean idle block (tests use it to force reads from the disk)."""
        for key, buf in list(self._bufs.items()):
            if buf.idle and not buf.dirty and not self.mapped(buf):
                self._drop(key, buf)

    def stats(self) -> dict:
        return dict(hits=self.hits, misses=self.misses, reads=self.reads, writes=self.writes,
                    evictions=self.evictions, cached=len(self._bufs), dirty=self.dirty_count)


# -- boot-time driving ------------------------------------------------------------------------

class _BootWaiter:
    """Stands in for a process on a WaitQueue while the kernel boots."""
    state = None        # never State.BLOCKED, so Kernel.wake leaves it alone

    def __repr__(self) -> str:
        return '<boot>'


def run_boot(kernel, gen):
    """Drive a blocking kernel generator to its result when no process runs (boot,
    shutdown): each yielded WaitQueue is waited for with kernel.run_until until it has
    been woken, each Sleep until its time.  Exceptions from the generator propagate."""
    value = None
    while True:
        try:
            on = gen.send(value)
        except StopIteration as stop:
            return stop.value
        if isinstance(on, WaitQueue):
            token = _BootWaiter()
            on.add(token)
            kernel.run_until(lambda: all(w is not token for w in on.waiters))
        elif isinstance(on, Sleep):
            kernel.run_until(lambda: kernel.clock.now >= on.until)
        else:
            gen.close()
            raise TypeError(f'run_boot: the operation waited on {on!r}')


def read_sectors(kernel, disk, lba: int, count: int) -> bytes:
    """Boot-time helper: read `count` sectors (at most a frame) through the disk's queue."""
    nbytes = count * disk.sector_size
    if nbytes > PAGE_SIZE:
        raise ValueError('read_sectors reads at most one frame')
    frame = kernel.frames.alloc()
    try:
        req = disk.queue.submit(BlockRequest(disk, lba, count, [(frame, nbytes)]))
        if run_boot(kernel, req.wait()):
            raise FsError(Errno.EIO, f'{disk.name}: read of sector {lba} failed')
        return kernel.machine.memory.read(frame, nbytes)
    finally:
        kernel.frames.release(frame)


def partitions(kernel, disk) -> list[tuple[int, int, int]]:
    """(first LBA, sector count, type) of each used MBR partition, in table order
    (the disk-side twin of kernel.tools.mkdisk.partition_offsets)."""
    from kernel.tools.mkdisk import MBR_SIGNATURE, MasterBootRecord
    raw = read_sectors(kernel, disk, 0, 1)[:512]
    mbr = MasterBootRecord.from_buffer_copy(raw)
    if mbr.signature != MBR_SIGNATURE:
        raise FsError(Errno.ENODEV, f'{disk.name}: no MBR partition table')
    return [(p.lba_first, p.sector_count, p.type)
            for p in mbr.partitions if p.type and p.sector_count]


def mount_root(kernel, disk, partition: int = 1, **cache_args) -> tuple[Ext2, BufferCache]:
    """At boot: mount the ext2 file system in `partition` (1-based, MBR table order) of
    `disk` (from AhciDriver.probe) through a new BufferCache; returns (fs, cache)."""
    table = partitions(kernel, disk)
    if not 1 <= partition <= len(table):
        raise FsError(Errno.ENODEV, f'{disk.name}: no partition {partition}')
    start, count, _ = table[partition - 1]
    cache = BufferCache(kernel, disk.queue, disk, start, nsectors=count, **cache_args)
    clock = kernel.clock
    fs = Ext2(cache, now=lambda: (EPOCH_NS + clock.now) // 10**9)
    run_boot(kernel, fs.mount())
    return fs, cache
