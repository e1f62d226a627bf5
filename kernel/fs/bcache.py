"""The buffer cache: the BlockDevice a mounted file system reads and writes through.

BufferCache(services, queue, disk, start_lba) serves one partition of a disk: block n of
the file system is the block_size bytes at sector start_lba + n * block_size /
sector_size.  `services` (CacheServices) is what it uses of the kernel: physical memory,
the frame allocator, the clock, the vmstat counters, the tracer, a way to run a
blocking generator when no process runs (the shutdown flush), and a way to wait for
reclaim when no frame is free.  It implements the
BlockDevice protocol (kernel/fs/blockdev.py):

    data = yield from cache.read_block(n)        # a hit returns at once, a miss DMAs
    yield from cache.write_block(n, data)        # write-back: the block becomes dirty
    yield from cache.write_run(n, data)          # whole blocks n.., as one run when new
    yield from cache.write_meta(n, data)         # metadata: after the contents before it
    yield from cache.write_ordered(n, data)      # metadata on the disk before this returns
    yield from cache.sync()                      # write every dirty block, FLUSH CACHE
    cache.flush()                                # the same, synchronously, at shutdown

File data comes in bulk:

    segments = yield from cache.hold_runs(runs)  # runs of consecutive blocks, cached
    ...copy from the segments' physical memory...
    cache.release(segments.held)

A cache entry (a Buffer) is a run of consecutive blocks in physically contiguous frames,
like Linux's large folios: one metadata block alone, or up to EXTENT_BLOCKS of a file read
at once.  A run is read by one request with one DMA segment, and copied out with one
memmove, so a large sequential read costs a few Python steps per run instead of per
block.  The block layer pins the frames from submit until the DMA completes; a reader
holds (Buffer.users) the buffers it copies from, so reclaim cannot free them under it.

When the read of a run fails, its blocks are marked suspect and read one by one after
that, so a bad sector costs only its own block; a block whose own read failed is in
`bad` (the mapped-file fault path gives SIGBUS for it instead of reading it again).

Blocks are looked up by number in `_index` (a BlockIndex: the buffers by first block,
bisected, so a buffer of 1024 blocks costs one entry, not 1024).  The 1 KiB
superblock read that ext2 does before it knows its block size is dropped when the block
size is set, at mount, before anything is written.

Write order (what a crash can leave, ext2.py): a dirty buffer holds either contents
(file data, or a block nothing points at yet) or metadata (Buffer.meta).  Contents always
reach the disk before metadata dirtied after them: writeback and sync write the contents
first and the metadata only once no contents are dirty, and a buffer dirty with contents
is written out before a metadata write turns it into metadata.  write_ordered writes its
block at once (contents first) and waits, so the file system can put one change on the
disk before it makes the next.

Caching policy: at most `max_blocks` blocks (default a quarter of RAM's frames); when
full, the least recently used clean, idle, unheld, unmapped buffer is evicted (its frames
freed).  Dirty buffers are never evicted; when more than `dirty_limit` blocks are dirty,
write_block syncs.  A buffer is dirty as a whole (Linux tracks a folio the same way): a
write to one block of a run writes the run back.  Statistics: hits, misses, reads and
writes (requests issued), evictions.

At boot and shutdown, proc.wait.run_boot drives these generators when no process runs;
fs.mount.mount_root builds the cache over a partition and mounts ext2 on it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

from kernel.dev.blk import BlockRequest
from kernel.fs.bbuf import BlockIndex, Buffer, Segments, runs_of  # noqa: F401 (runs_of re-exported)
from kernel.errno import Errno
from kernel.fs.ext2 import FsError
from kernel.mm.frames import PAGE_SIZE, OutOfMemory

from emu.ahci import AtaCommand

FLUSH_COMMAND = AtaCommand.FLUSH_CACHE_EXT


EXTENT_BLOCKS = 1024           # the largest run one buffer (and one DMA request) holds
WRITEBACK_BATCH = 64           # early writeback starts again once this many more are dirty


@dataclass(frozen=True)
class CacheServices:
    """What the buffer cache uses of the kernel."""
    memory: object                      # emu PhysicalMemory: the frames' bytes
    frames: object                      # mm.frames.FrameAllocator
    clock: object                       # emu Clock: writeback ages and its timer
    vmstat: dict                        # /proc/vmstat's counters
    tracer: object                      # trace.events.Tracer: readahead and writeback events
    drive: Callable                     # drive(gen): run a blocking generator, no process running
    wait_for_memory: Callable           # generator: returns once frames may be free again
                                        # (reclaim ran); OutOfMemory if none can be freed


class BufferCache:
    # A mapped page of it that reclaim unmaps can go (page_unmapped): the disk has it.
    gives_back_mapped_pages = True

    def __init__(self, services: CacheServices, queue, disk, start_lba: int = 0,
                 block_size: int = 1024, nsectors: int | None = None,
                 max_blocks: int | None = None, dirty_limit: int | None = None,
                 flush_cache: bool = True):
        self.memory = services.memory
        self.frames = services.frames
        self.clock = services.clock
        self.vmstat = services.vmstat
        self.tracer = services.tracer
        self._drive = services.drive
        self._wait_for_memory = services.wait_for_memory
        self.queue = queue
        self.disk = disk
        self.start_lba = start_lba
        self.nsectors = disk.sectors - start_lba if nsectors is None else nsectors
        self.max_blocks = max_blocks or max(16, self.frames.total // 4)
        self.dirty_limit = dirty_limit or max(8, self.max_blocks // 2)
        self.flush_cache = flush_cache          # send FLUSH CACHE EXT after a sync's writes
        self._index = BlockIndex()                          # block number -> its buffer
        self._lru: OrderedDict[int, Buffer] = OrderedDict()  # by first block, LRU first
        self._dirty: dict[int, Buffer] = {}                 # by first block
        self._dirty_blocks = 0
        self._fresh_dirty = 0                               # dirtied since the last writeback
        self._writeback_armed = False
        self._block_size = 0
        self.block_size = block_size
        self.hits = self.misses = self.reads = self.writes = self.evictions = 0
        self.bad: set[int] = set()          # blocks whose own read failed last time
        self._suspect: set[int] = set()     # blocks of a failed run: read one by one

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
            for buf in list(self._lru.values()):
                if self._droppable(buf):
                    self._drop(buf)
            if self._lru:
                raise ValueError('block size changed while blocks are dirty or busy')
        self._block_size = size

    # -- helpers ---------------------------------------------------------------------------
    @property
    def _blocks(self) -> int:
        """How many blocks the partition holds."""
        return self.nsectors // (self._block_size // self.disk.sector_size)

    def _lba(self, n: int, count: int = 1) -> int:
        if n < 0 or n + count > self._blocks:
            raise FsError(Errno.EIO, f'block {n + count - 1} lies beyond the end of the partition')
        return self.start_lba + n * (self._block_size // self.disk.sector_size)

    def _drop(self, buf: Buffer) -> None:
        self._index.remove(buf)
        del self._lru[buf.n]
        if buf.readahead:
            self.vmstat['readahead_wasted'] += buf.count
        self.frames.release_run(buf.frame, buf.nframes)

    def _evict(self, buf: Buffer) -> int:
        """Drop an evictable buffer to make room; returns the frames it gave back."""
        self._drop(buf)
        self.evictions += 1
        return buf.nframes

    def _droppable(self, buf: Buffer) -> bool:
        """Nothing would be lost or pulled from under anyone if buf went: clean, no I/O in
        flight, no reader holding it, not mapped."""
        return not buf.dirty and buf.io is None and not buf.users and not self.mapped(buf)

    def _evictable(self, buf: Buffer) -> bool:
        return buf.valid and not buf.wanted and self._droppable(buf) \
            and not self.frames.any_pinned(buf.frame, buf.nframes)

    def _make_room(self, count: int) -> None:
        while self._index.blocks + count > self.max_blocks:
            victim = next((b for b in self._lru.values() if self._evictable(b)), None)
            if victim is None:
                return              # everything is dirty or busy: run over the cap
            self._evict(victim)

    def _new_buffer(self, n: int, count: int = 1) -> Buffer:
        """A buffer for blocks n.. (count, or fewer if memory holds no contiguous run that
        long: the caller goes on from buf.end)."""
        self._make_room(count)
        size = self._block_size
        while True:
            nframes = -(-count * size // PAGE_SIZE)
            frame = self.frames.alloc(zero=False) if nframes == 1 else \
                self.frames.alloc_run(nframes, zero=False)
            if frame is not None:
                break
            count = max(1, (nframes // 2) * PAGE_SIZE // size)
        buf = Buffer(size, n, count, frame, nframes)
        self._index.add(buf)
        self._lru[n] = buf
        return buf

    def _new_buffer_waiting(self, n: int, count: int = 1):
        """Generator: a new buffer for blocks n.. (_new_buffer), or None once it has waited
        for reclaim because memory was short, as a page fault waits: a call under memory
        pressure is slowed, not failed (OutOfMemory, ENOMEM, only when nothing can be
        freed).  After None the caller looks the block up again: others ran meanwhile."""
        try:
            return self._new_buffer(n, count)
        except OutOfMemory:
            yield from self._wait_for_memory()
            return None

    def _submit(self, buf: Buffer, write: bool) -> BlockRequest:
        """Start a read or write of buf; the buffer's state is updated at completion (in
        the bottom half, by on_done), whether or not the submitter is still waiting."""
        return self._submit_together([buf], write)

    def _submit_together(self, bufs: list[Buffer], write: bool) -> BlockRequest:
        """One request for buffers whose blocks follow each other on the disk, each
        buffer one segment of it."""
        count = sum(buf.count for buf in bufs)
        size = bufs[0].size
        alone = len(bufs) == 1
        req = BlockRequest(self.disk, self._lba(bufs[0].n, count),
                           count * size // self.disk.sector_size,
                           [(buf.frame, buf.count * size) for buf in bufs], write=write,
                           on_done=[self._on_done(buf, write, alone) for buf in bufs])
        for buf in bufs:
            buf.io = req
        self.queue.submit(req)
        if write:
            self.writes += 1
            self.vmstat['cache_blocks_written'] += count
        else:
            self.reads += 1
            self.vmstat['cache_blocks_read'] += count
        return req

    def _on_done(self, buf: Buffer, write: bool, alone: bool):
        """What the bottom half does for buf when its request completes.  When a read
        fails, the blocks of a buffer of several, or of a request of several buffers,
        become suspect (read one by one next time); a block read alone is bad."""
        version = buf.version

        def done(req: BlockRequest) -> None:
            if buf.io is req:
                buf.io = None
            if write:
                if not req.error and buf.version == version:
                    self._make_clean(buf)
            elif req.error:
                if self._lru.get(buf.n) is buf:
                    self._drop(buf)
                if buf.count > 1 or not alone:  # which of them is bad?  Read them alone next
                    self._suspect.update(range(buf.n, buf.end))
                else:
                    self.bad.add(buf.n)
            else:
                buf.valid = True
                if buf.count == 1 and alone:
                    self._suspect.discard(buf.n)
                    self.bad.discard(buf.n)
        return done

    def mapped(self, buf: Buffer) -> bool:
        """Is one of the buffer's frames mapped into some process (mmap)?  Then it must stay."""
        return self.frames.any_shared(buf.frame, buf.nframes)

    def page_unmapped(self, n: int) -> int:
        """Reclaim unmapped block n's page from every process (mm/reclaim.py): its buffer
        goes now if nothing else needs it.  Returns the frames freed."""
        buf = self._index.get(n)
        return self._evict(buf) if buf is not None and self._evictable(buf) else 0

    # -- the page cache's view: a 4 KiB block is a file page, mapped by mmap ---------------
    def page(self, n: int) -> Buffer | None:
        """The buffer holding block n, if cached (valid or on its way); buf.addr(n) is
        the block's frame when blocks are pages."""
        buf = self._index.get(n)
        if buf is not None:
            self._lru.move_to_end(buf.n)
        return buf

    def peek(self, n: int) -> Buffer | None:
        """The buffer holding block n if its data is here now; nothing is read, and its
        place in the LRU order stays (mapped-file fault-around asks about neighbours)."""
        buf = self._index.get(n)
        return buf if buf is not None and buf.valid else None

    def mark_dirty(self, n: int) -> None:
        """A mapped page was written through its mapping (its PTE's Dirty bit)."""
        buf = self._index.get(n)
        if buf is not None and buf.valid:
            self._make_dirty(buf)

    # -- writeback: dirty blocks go to the disk in the background -------------------------------
    WRITEBACK_AGE_NS = 500_000_000         # a block dirty this long is written back (0.5 s)

    def _make_dirty(self, buf: Buffer) -> None:
        if not buf.dirty:
            buf.dirtied_at = self.clock.now
            buf.dirty = True
            self._dirty[buf.n] = buf
            self._dirty_blocks += buf.count
            self._fresh_dirty += buf.count
        buf.version += 1
        if not self._writeback_armed:
            self._writeback_armed = True
            self.clock.schedule_in(self.WRITEBACK_AGE_NS, self._writeback)

    def _make_clean(self, buf: Buffer) -> None:
        if buf.dirty:
            buf.dirty = buf.meta = False
            del self._dirty[buf.n]
            self._dirty_blocks -= buf.count

    def _writeback(self) -> None:
        """Start writing the blocks dirty for longer than the age, without waiting (early
        writeback, so reclaim finds clean pages and a crash loses little)."""
        self._writeback_armed = False
        now = self.clock.now
        old = self._contents_first([buf for buf in self._idle_dirty()
                                    if now - buf.dirtied_at >= self.WRITEBACK_AGE_NS])
        blocks = self._write_back(old)
        if old and self.tracer.enabled:
            self.tracer.note('writeback', 0, blocks=blocks, reason='age')
        if self._dirty and len(old) < len(self._dirty):
            self._writeback_armed = True
            self.clock.schedule_in(self.WRITEBACK_AGE_NS, self._writeback)

    def start_writeback(self) -> int:
        """Dirty blocks have passed their share of memory: start writing them all now."""
        self._fresh_dirty = 0
        return self._write_back(self._contents_first(self._idle_dirty()))

    def _contents_first(self, bufs: list[Buffer]) -> list[Buffer]:
        """Of bufs, what may go to the disk now: metadata only when no contents are dirty."""
        if any(not b.meta for b in self._dirty.values()):
            return [b for b in bufs if not b.meta]
        return bufs

    def _idle_dirty(self) -> list[Buffer]:
        """The dirty buffers with no write in flight, in block order (for the elevator)."""
        return [self._dirty[n] for n in sorted(self._dirty) if self._dirty[n].idle]

    def _write_back(self, bufs: list[Buffer]) -> int:
        """Start writing bufs without waiting; returns the blocks started."""
        for buf in bufs:
            self._submit(buf, write=True)
        blocks = sum(b.count for b in bufs)
        self.vmstat['writeback_pages'] += blocks
        return blocks

    @property
    def dirty_count(self) -> int:
        return self._dirty_blocks

    def cached(self, n: int) -> bool:
        buf = self._index.get(n)
        return buf is not None and buf.valid

    # -- the BlockDevice protocol ----------------------------------------------------------
    def read_block(self, n: int):
        """Generator: the bytes of block n (metadata: one block alone if not cached)."""
        self._lba(n)                             # EIO for blocks outside the partition
        counted = False
        while True:
            buf = self._index.get(n)
            if buf is not None and buf.valid:
                if not counted:
                    self.hits += 1
                self._used(buf)
                self._lru.move_to_end(buf.n)
                return self.memory.read(buf.addr(n), self._block_size)
            if buf is not None:                  # someone else's read is in flight
                if not counted:
                    self.hits += 1
                    counted = True
                self._used(buf)
                yield from self._wait_holding(buf, buf.io)
                continue
            buf = yield from self._new_buffer_waiting(n)
            if buf is None:
                continue
            if not counted:
                self.misses += 1
                counted = True
            error = yield from self._wait_holding(buf, self._submit(buf, write=False))
            if error:
                raise FsError(Errno.EIO, f'read of block {n} failed ({error})')

    def _wait_holding(self, buf: Buffer, req: BlockRequest):
        """Generator: wait for req, buf held meanwhile: reclaim, run between the read's end
        and this process's turn, would otherwise drop it, and the read start over for ever."""
        buf.users += 1
        try:
            return (yield from req.wait())
        finally:
            buf.users -= 1

    def read_run(self, n: int, count: int):
        """Generator: the bytes of blocks n..n+count-1, read as runs of at most
        hold_most() blocks at a time, so that a long one (a group's inode table, a program
        read whole) needs no more of memory held at once than that."""
        out = bytearray()
        piece = self.hold_most()
        for first in range(n, n + count, piece):
            segments = yield from self.hold_runs([(first, min(piece, n + count - first))])
            try:
                for addr, size in segments:
                    out += self.memory.read(addr, size)
            finally:
                self.release(segments.held)
        return bytes(out)

    def hold_most(self) -> int:
        """The most blocks one caller should hold at once: a quarter of the cache."""
        return max(1, self.max_blocks // 4)

    def prefetch(self, blocknos, readahead: bool = False) -> int:
        """Start reads of the blocks not yet cached, without waiting (a mapped file's
        pages; the elevator merges neighbours).  Returns how many blocks were started."""
        return self.prefetch_runs(runs_of(blocknos), readahead)

    def prefetch_runs(self, runs, readahead: bool = False, metadata=()) -> int:
        """Start reads of the uncached blocks of runs [(first block, count)] (a first block
        of 0 is a hole and skipped), without waiting.  Returns how many blocks were started.
        metadata: blocks the file system will need soon (the indirect block after a
        readahead window), read too but not counted as readahead.  New buffers that
        follow each other on the disk are read by one request (one command)."""
        started, fresh = 0, []
        try:
            for first, count in runs:
                started += self._prefetch_run(first, count, readahead, fresh)
            for blockno in metadata:
                self._prefetch_run(blockno, 1, False, fresh)
        except OutOfMemory:
            pass                    # reading ahead is a bet: with no frame free, skip it
        finally:
            self._submit_reads(fresh)
        if readahead and started:
            self.vmstat['readahead_pages'] += started
            if self.tracer.enabled:
                self.tracer.note('readahead', 0, blocks=started, first=min(f for f, _ in runs if f))
        return started

    def _prefetch_run(self, first: int, count: int, readahead: bool, fresh: list) -> int:
        """New (unsubmitted) buffers for the uncached blocks of one run, added to fresh;
        returns how many blocks they hold."""
        # a hole is skipped, and so is what a corrupt pointer names past the
        # partition: that block stays uncached and its reader reports the error
        count = min(count, self._blocks - first)
        if first <= 0 or count <= 0:
            return 0
        started, n, end = 0, first, first + count
        while n < end:
            buf, new = self._fill(n, end, submit=False)
            if new:
                buf.readahead = buf.once = readahead
                started += buf.count
                fresh.append(buf)
            n = buf.end
        return started

    def _submit_reads(self, bufs: list[Buffer]) -> None:
        """Submit the reads of new buffers, one request for each stretch of them that
        follow each other on the disk.  A suspect block is read alone, so that its failure
        names it bad."""
        bufs = sorted(bufs, key=lambda b: b.n)
        start = 0
        for i in range(1, len(bufs) + 1):
            if i == len(bufs) or bufs[i].n != bufs[i - 1].end \
                    or bufs[i - 1].n in self._suspect or bufs[i].n in self._suspect:
                self._submit_together(bufs[start:i], write=False)
                start = i

    def _fill(self, n: int, end: int, submit: bool = True) -> tuple[Buffer, bool]:
        """(the buffer holding block n, whether it is new): when n is not cached, a new
        buffer for the stretch of missing blocks from n (up to end and EXTENT_BLOCKS),
        its read submitted unless the caller submits it (submit=False)."""
        buf = self._index.get(n)
        if buf is not None:
            return buf, False
        buf = self._new_buffer(n, self._missing_from(n, end))
        if submit:
            self._submit(buf, write=False)
        return buf, True

    def _missing_from(self, n: int, end: int) -> int:
        """How many blocks from n (not cached) on are missing from the cache, up to end
        and EXTENT_BLOCKS: the size of a new buffer there.  A suspect block stands alone."""
        if n in self._suspect:
            return 1
        stop = self._index.next_cached(n + 1, min(end, n + EXTENT_BLOCKS))
        if self._suspect:
            stop = next((b for b in range(n + 1, stop) if b in self._suspect), stop)
        return stop - n

    def hold_runs(self, runs):
        """Generator: make every block of runs [(first block or 0 for a hole, count)]
        cached and valid, reading what is missing, and hold the buffers so nothing frees
        them; returns Segments, the runs' bytes as physical pieces in order (holes as
        None).  The caller copies out, then calls release(segments.held).  Raises
        FsError(EIO) if a block cannot be read: when the read of a long run fails, its
        blocks are read again one by one, so only a bad block itself is an error (Linux
        falls back to single pages when a large folio's read fails the same way)."""
        held: list[Buffer] = []
        missed = 0
        try:
            for first, count in runs:
                if first:
                    self._lba(first, count)
                    missed += yield from self._hold_blocks(first, first + count, held)
            failed = yield from self._wait_held(held)
            for buf in failed:                  # again, a block at a time
                for n in range(buf.n, buf.end):
                    if self._index.get(n) is None:
                        yield from self._hold_blocks(n, n + 1, held)
            if (yield from self._wait_held(held)):
                raise FsError(Errno.EIO, 'a block read failed')
        except BaseException:
            self.release(held)
            raise
        segments = Segments()
        segments.held = held
        size = self._block_size
        for first, count in runs:
            if not first:
                segments.append((None, count * size))
                continue
            n = first
            while n < first + count:
                buf = self._index.get(n)
                take = min(buf.end, first + count) - n
                self._add_segment(segments, buf.addr(n), take * size)
                n += take
        for buf in held:
            self._used(buf)
            self._lru.move_to_end(buf.n)
        self.misses += missed
        self.hits += sum(count for first, count in runs if first) - missed
        return segments

    def _hold_blocks(self, n: int, end: int, held: list):
        """Generator: hold the buffers of blocks n..end-1 (reading the missing ones);
        returns how many blocks had to be read.  With no frame free it waits for reclaim,
        as a page fault does (OutOfMemory only when nothing can be freed)."""
        missed = 0
        while n < end:
            try:
                buf, fresh = self._fill(n, end)
            except OutOfMemory:
                yield from self._wait_for_memory()
                continue                        # others ran meanwhile: look again
            if fresh:
                missed += buf.count
            buf.users += 1                      # from here on nothing evicts it
            held.append(buf)
            n = buf.end
        return missed

    def _wait_held(self, held: list):
        """Generator: wait until every held buffer is read; the ones whose read failed
        (dropped by the bottom half) are let go and returned."""
        failed = []
        for buf in held:
            if buf.io is not None and not buf.valid:
                yield from buf.io.wait()
            if not buf.valid:
                failed.append(buf)
        for buf in failed:
            held.remove(buf)
            buf.users -= 1
        return failed

    @staticmethod
    def _add_segment(segments: list, addr: int, nbytes: int) -> None:
        if segments:
            last_addr, last_bytes = segments[-1]
            if last_addr is not None and last_addr + last_bytes == addr:
                segments[-1] = (last_addr, last_bytes + nbytes)
                return
        segments.append((addr, nbytes))

    def release(self, held: list[Buffer]) -> None:
        """Give back buffers that hold_runs held."""
        for buf in held:
            buf.users -= 1

    def read_past(self, bufs: list[Buffer], end: int) -> None:
        """A sequential reader has read through held bufs (in file order) up to disk block
        end.  The buffers readahead brought in for it and now wholly behind it are the
        first to go when room is needed (Linux's use-once pages: a stream read once does
        not push out what is used again), the last one read first: its frames are then
        the next window's while they are still in the host's CPU caches from the copy
        just made.  A buffer read again later keeps its place in the LRU order."""
        for i, buf in enumerate(bufs):
            if buf.once and (i + 1 < len(bufs) or buf.end <= end):
                buf.once = False
                if self._lru.get(buf.n) is buf:
                    self._lru.move_to_end(buf.n, last=False)

    def _used(self, buf: Buffer) -> None:
        if buf.readahead:
            buf.readahead = False
            self.vmstat['readahead_hits'] += buf.count

    def write_block(self, n: int, data: bytes):
        if len(data) != self._block_size:
            raise ValueError(f'write of {len(data)} bytes to a {self._block_size}-byte block')
        yield from self.write_run(n, data)

    def write_meta(self, n: int, data: bytes):
        """Metadata block n: written back after every block of contents dirty before it."""
        if len(data) != self._block_size:
            raise ValueError(f'write of {len(data)} bytes to a {self._block_size}-byte block')
        yield from self.write_run(n, data, meta=True)

    def write_ordered(self, n: int, data: bytes):
        """Metadata block n, on the disk (contents dirty before it first) when this returns:
        the file system's next change may depend on it.  Waiting for the write to complete
        is enough on the modelled disk, where a completed write is on the media
        (emu/powerfail.py); a disk with a volatile write cache would need FUA here.
        sync() (fsync) ends with FLUSH CACHE."""
        yield from self.write_meta(n, data)
        yield from self._write_in_order(self._index.get(n))

    def write_run(self, n: int, data: bytes, meta: bool = False):
        """Whole blocks n.. (a file's data written in one go, or one metadata block):
        cached stretches are overwritten in place, the others go into new buffers (no
        read first: every byte is replaced), one copy per buffer, and are written back
        as runs.  meta: the blocks are metadata (see write_meta)."""
        size = self._block_size
        count, partial = divmod(len(data), size)
        if partial:
            raise ValueError(f'write of {len(data)} bytes: not whole {size}-byte blocks')
        self._lba(n, count)
        end, done = n + count, 0
        while done < count:
            m = n + done
            buf = self._index.get(m)
            if buf is None:
                buf = yield from self._new_buffer_waiting(m, self._missing_from(m, end))
                if buf is None:
                    continue
            elif not buf.valid:
                yield from buf.io.wait()         # a read in flight would overwrite us;
                continue                         # it may fail and drop the buffer: look again
            elif meta and not buf.idle:
                # a write in flight reads this memory when it ends (emu/ahci.py): metadata
                # changed now could reach the disk ahead of the contents it points at
                yield from buf.io.wait()
                continue
            elif meta and buf.dirty and not buf.meta:
                # contents (a fresh indirect block's zeros) reach the disk as contents,
                # before anything that points at them, not later as metadata; they point
                # at nothing, so they need nothing written before them
                failed: set[Buffer] = set()
                yield from self._write_and_wait([buf], failed)
                if failed:
                    raise FsError(Errno.EIO, f'write of block {buf.n} failed')
                continue
            stop = min(buf.end, end)
            self.memory.write(buf.addr(m), data[done * size:(stop - n) * size])
            self.bad.difference_update(range(m, stop))   # rewritten whole: a new chance
            self._written(buf)
            buf.meta = buf.meta or meta
            done = stop - n
        yield from self._throttle()

    def _written(self, buf: Buffer) -> None:
        buf.valid = True
        self._make_dirty(buf)
        self._lru.move_to_end(buf.n)

    def _throttle(self):
        """After a write: keep dirty blocks within bounds."""
        if self.dirty_count > self.dirty_limit:
            yield from self.sync()               # the writer has outrun the disk: it waits
        elif self.dirty_count > self.dirty_limit // 2 and self._fresh_dirty >= WRITEBACK_BATCH:
            self.start_writeback()               # early writeback: the disk starts on them now

    def sync(self):
        """Generator: write every dirty block, the contents first, then the metadata
        (each group submitted before any wait, so the elevator can sort and merge them),
        then FLUSH CACHE; raises FsError(EIO) if a write failed (that block stays dirty)."""
        yield from self._write_in_order(None)

    def _write_in_order(self, target: Buffer | None):
        """Write the dirty contents, then target (None: every dirty metadata buffer, and
        FLUSH CACHE after), and wait for them."""
        failed: set[Buffer] = set()
        wrote = 0
        for _ in range(3):          # a writer may dirty more contents while we wait
            contents = [b for b in self._dirty.values() if not b.meta and b not in failed]
            if not contents:
                break
            wrote += yield from self._write_and_wait(contents, failed)
        if target is None:
            meta = [b for b in self._dirty.values() if b not in failed]
        else:
            meta = [target] if target.dirty else []
        wrote += yield from self._write_and_wait(meta, failed)
        if (wrote or failed) and self.flush_cache and target is None:
            req = BlockRequest(self.disk, 0, 0, [], command=FLUSH_COMMAND)
            self.queue.submit(req)
            if (yield from req.wait()):
                failed.add(None)
        if failed:
            raise FsError(Errno.EIO, f'{len(failed)} block writes failed')

    def _write_and_wait(self, bufs: list[Buffer], failed: set):
        """Write bufs (after the writes already in flight on them) in block order and
        wait; the ones that failed go into `failed`.  Returns how many were written."""
        for buf in bufs:
            while not buf.idle:
                yield from buf.io.wait()
        batch = [(buf, self._submit(buf, write=True)) for buf in sorted(bufs, key=lambda b: b.n)
                 if buf.dirty]
        for buf, req in batch:
            if (yield from req.wait()):
                failed.add(buf)
        return len(batch)

    def flush(self) -> None:
        """Synchronous sync for shutdown, when no process runs."""
        self._drive(self.sync())

    def _buffers_in(self, runs):
        """The buffers holding any block of runs [(first block or 0, count)]."""
        out = {}
        for first, count in runs:
            if first:
                out.update((buf.n, buf) for buf in self._index.overlapping(first, first + count))
        return list(out.values())

    def dirty_in(self, runs) -> bool:
        return any(buf.dirty for buf in self._buffers_in(runs))

    def forget_runs(self, runs) -> None:
        """Direct I/O moved these blocks around the cache: drop clean copies (stale now)."""
        for buf in self._buffers_in(runs):
            if self._droppable(buf):
                self._drop(buf)

    def shrink(self, want: int) -> int:
        """Memory is short: give back at least `want` frames (if there are so many) of
        clean, idle, unmapped buffers, least recently used first; a buffer read for a
        page fault whose process has not yet mapped it is passed over once.  Returns how
        many."""
        freed = 0
        for buf in list(self._lru.values()):
            if freed >= want:
                break
            if buf.wanted and buf.valid and buf.idle:
                buf.wanted = False          # read, but its faulter has not run since: spare
                continue                    # it once, or the fault would read it for ever
            if self._evictable(buf):
                freed += self._evict(buf)
        self.vmstat['pgsteal_cache'] += freed
        return freed

    def invalidate(self) -> None:
        """Forget every clean idle block (tests use it to force reads from the disk)."""
        for buf in list(self._lru.values()):
            if self._droppable(buf):
                self._drop(buf)

    def stats(self) -> dict:
        return dict(hits=self.hits, misses=self.misses, reads=self.reads, writes=self.writes,
                    evictions=self.evictions, cached=self._index.blocks, dirty=self.dirty_count)
