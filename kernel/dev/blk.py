"""The block layer: requests, a queue per disk, and the elevator that orders them.

The top half of the disk driver lives here.  Whoever needs sectors moved (the buffer
cache, a future object store) builds a BlockRequest naming the disk, the first LBA, the
sector count and the physical memory to move them to or from (a scatter list of
(physical address, byte count) segments, usually whole kernel frames), and submits it to
the disk's BlockQueue.  `submit` returns at once; the caller waits with

    while not req.done:
        yield req.waiters            # a blocking kernel routine (see kernel/proc/wait.py)
    if req.error: ...                # 0 or a negative errno (-EIO)

and the bottom half (kernel/dev/ahci.py, AhciDriver.interrupt) marks the request done,
wakes the waiters and runs the `on_done` callbacks.

Every frame a request's segments touch is pinned from `submit` until completion, so
nothing that reclaims memory can take a frame while the disk is writing into it.

The elevator is C-LOOK: pending requests are served in ascending LBA order starting from
where the last dispatched command ended; when none lies ahead the sweep starts again at
the lowest pending LBA.  When the driver asks for the next command the elevator also
merges pending requests of the same direction whose LBAs are contiguous with it (before
or after), up to the driver's limits on segments and sectors: one ATA command, one PRDT
made of the requests' segments in LBA order.  Requests with a special ATA command
(IDENTIFY, FLUSH CACHE) are barriers: nothing submitted before one is dispatched after
it, and nothing submitted after it is dispatched before it.

Dispatch is deferred ("plugging"): submit schedules one zero-delay event on the virtual
clock, and the driver fills its command slots when that event fires, so requests
submitted together (a sync of many dirty blocks) reach the elevator together.
"""

from __future__ import annotations

import itertools
from typing import Callable

from kernel.mm.frames import PAGE_SIZE
from kernel.proc.wait import WaitQueue

_seq = itertools.count(1)


class BlockRequest:
    """One transfer of whole sectors between a disk and physical memory.

    segments: [(physical address, byte count)], filled/drained in order; the byte counts
    add up to sectors * disk.sector_size (each even, as the PRDT requires).  A read may
    name None for the address of a piece of at most a page: sectors it wants no one to
    have (the block between two runs it reads in one command), which the driver reads
    into a bit bucket of its own, as NVMe's scatter lists have one.
    command: an ATA command for non-transfer requests (IDENTIFY DEVICE, FLUSH CACHE EXT);
    None for an ordinary READ/WRITE DMA EXT chosen by `write`.
    """

    def __init__(self, disk, lba: int, sectors: int, segments, write: bool = False,
                 on_done: Callable | list | None = None, command: int | None = None):
        self.disk = disk
        self.lba = lba
        self.sectors = sectors
        self.segments: list[tuple[int | None, int]] = [(None if a is None else int(a), int(n))
                                                       for a, n in segments]
        self.write = bool(write)
        self.command = command
        if on_done is None:
            self.on_done: list[Callable] = []
        elif callable(on_done):
            self.on_done = [on_done]
        else:
            self.on_done = list(on_done)
        self.done = False
        self.error = 0                  # 0 or a negative errno
        self.waiters = WaitQueue(f'blk {lba}+{sectors}')
        self.seq = next(_seq)           # submission order, for barriers and ties
        self.solo = False               # dispatch alone (set when a merged command failed)
        self.submitted_at: int | None = None
        self.completed_at: int | None = None
        self._pinned: list[tuple[int, int]] = []

    @property
    def end(self) -> int:
        return self.lba + self.sectors

    @property
    def nbytes(self) -> int:
        return sum(n for _, n in self.segments)

    @property
    def barrier(self) -> bool:
        return self.command is not None

    def wait(self):
        """Generator: wait for completion; returns the error (0 or -errno)."""
        while not self.done:
            yield self.waiters
        return self.error

    def complete(self, error: int, wake: Callable, now: int | None = None) -> None:
        """Called by the bottom half: record the result, wake waiters, run callbacks."""
        self.done = True
        self.error = error
        self.completed_at = now
        self.waiters.wake_all(wake)
        for callback in self.on_done:
            callback(self)

    def page_runs(self) -> list[tuple[int, int]]:
        """The page frames the segments touch, as (first frame, count) runs in order."""
        out: list[tuple[int, int]] = []
        for addr, n in self.segments:
            if addr is None:                # the driver's bit bucket, not the requester's
                continue
            first = addr & ~(PAGE_SIZE - 1)
            count = (addr + n - first + PAGE_SIZE - 1) // PAGE_SIZE
            if out and out[-1][0] + out[-1][1] * PAGE_SIZE > first:     # shares a page
                overlap = (out[-1][0] + out[-1][1] * PAGE_SIZE - first) // PAGE_SIZE
                first, count = first + overlap * PAGE_SIZE, count - overlap
            if count > 0:
                out.append((first, count))
        return out

    def frames(self) -> list[int]:
        """The page frames the segments touch, in order."""
        return [first + i * PAGE_SIZE for first, count in self.page_runs() for i in range(count)]

    def __repr__(self) -> str:
        kind = f'cmd {self.command:#x}' if self.command is not None else ('W' if self.write else 'R')
        return f'<BlockRequest {kind} {self.lba}+{self.sectors} done={self.done} error={self.error}>'


class BlockQueue:
    """The pending requests of one disk and its elevator.

    `kick` is called (with no arguments) after every submit; the driver uses it to
    schedule a dispatch.  `frames` (a FrameAllocator) pins the requests' frames.
    """

    def __init__(self, disk, kick: Callable[[], None], frames=None):
        self.disk = disk
        self.kick = kick
        self.frames = frames
        self.pending: list[BlockRequest] = []
        self.head = 0                   # C-LOOK position: end LBA of the last dispatched command
        # statistics (for traces and benchmarks)
        self.submitted = 0
        self.merges = 0                 # requests folded into another's command
        self.commands = 0               # commands handed to the driver
        self.reorders = 0               # commands that did not serve the oldest request first

    def __len__(self) -> int:
        return len(self.pending)

    def submit(self, req: BlockRequest) -> BlockRequest:
        self._validate(req)
        if self.frames is not None:
            req._pinned = req.page_runs()
            for first, count in req._pinned:
                self.frames.pin_run(first, count)
        self.pending.append(req)
        self.submitted += 1
        self.kick()
        return req

    def requeue(self, req: BlockRequest) -> None:
        """Put back a dispatched but unfinished request (after a port recovery)."""
        self.pending.append(req)

    def release(self, req: BlockRequest) -> None:
        """Unpin the request's frames (the driver calls this before completing it)."""
        if self.frames is not None:
            for first, count in req._pinned:
                self.frames.unpin_run(first, count)
        req._pinned = []

    def _validate(self, req: BlockRequest) -> None:
        if req.disk is not self.disk:
            raise ValueError(f'{req!r} is for another disk')
        for addr, n in req.segments:
            if addr is None:
                if req.write or req.command is not None or not 0 < n <= PAGE_SIZE or n & 1:
                    raise ValueError(f'a discarded piece of {n} bytes: reads only, a page at most')
            elif n <= 0 or addr & 1 or n & 1:
                raise ValueError(f'segment {addr:#x}+{n} is not word aligned (AHCI PRDT)')
        if req.command is not None:
            return
        if req.sectors <= 0 or req.lba < 0 or req.end > self.disk.sectors:
            raise ValueError(f'sectors {req.lba}+{req.sectors} outside a '
                             f'{self.disk.sectors}-sector disk')
        if req.nbytes != req.sectors * self.disk.sector_size:
            raise ValueError(f'{req.nbytes} bytes of segments for {req.sectors} sectors')

    # -- the elevator --------------------------------------------------------------------
    def next_command(self, max_segments: int, max_sectors: int) -> list[BlockRequest] | None:
        """Take the next command's requests off the queue (in LBA order), or None."""
        if not self.pending:
            return None
        ordered = sorted(self.pending, key=lambda r: r.seq)
        barrier = next((r for r in ordered if r.barrier), None)
        if barrier is ordered[0]:
            self.pending.remove(barrier)
            self.commands += 1
            return [barrier]
        candidates = [r for r in self.pending if barrier is None or r.seq < barrier.seq]
        candidates.sort(key=lambda r: (r.lba, r.seq))
        first = next((r for r in candidates if r.lba >= self.head), candidates[0])
        chosen = [first]
        if not first.solo:
            self._merge(first, chosen, candidates, max_segments, max_sectors)
        for r in chosen:
            self.pending.remove(r)
        if min(r.seq for r in chosen) != ordered[0].seq:
            self.reorders += 1          # the elevator served a later request before the oldest
        self.merges += len(chosen) - 1
        self.commands += 1
        self.head = chosen[-1].end
        return chosen

    def _merge(self, first, chosen, candidates, max_segments, max_sectors) -> None:
        """Grow `chosen` with requests of the same direction that continue it on either
        side, within the command's limits (by LBA: a lookup each step, not a scan)."""
        by_start: dict[int, BlockRequest] = {}
        by_end: dict[int, BlockRequest] = {}
        for r in candidates:                         # candidates are in (lba, seq) order
            if r is not first and not r.solo and r.write == first.write:
                by_start.setdefault(r.lba, r)
                by_end.setdefault(r.end, r)
        segments, sectors = len(first.segments), first.sectors
        taken = {id(first)}

        def take(r) -> bool:
            nonlocal segments, sectors
            if r is None or id(r) in taken or segments + len(r.segments) > max_segments \
                    or sectors + r.sectors > max_sectors:
                return False
            taken.add(id(r))
            segments += len(r.segments)
            sectors += r.sectors
            return True

        while take(r := by_end.get(chosen[0].lba)):         # back merges: ending where we start
            chosen.insert(0, r)
        while take(r := by_start.get(chosen[-1].end)):      # front merges: starting where we end
            chosen.append(r)
