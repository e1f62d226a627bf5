"""The object store's sectors, moved by the object server (a SectorDevice for store.py).

The kernel does not drive the store's controller (server.py): every sector the store reads
or writes -- its header, range table, allocation maps, nodes, fresh objects, and a
checkpoint's log entries, directory and commit record -- travels as a READ or WRITE upcall
to /sbin/objsrv, in a kernel frame pinned and lent to the controller for the transfer.
store.py is synchronous; the two directions are made to fit it so:

  write   write-behind: the data is copied into a frame and the upcall queued; the call
          returns at once.  The store keeps its maps in memory, so nothing it decides waits
          for the disk, and the server serves upcalls in order, so a later read sees it.
          The frame comes from a small reserve that a system call fills before it may
          write (`fill_reserve`, a generator that waits for memory like any allocation,
          and for the server when more than MAX_WRITING writes are still to do),
          else from free memory; with none (a checkpoint starting when memory is short),
          the write waits in a backlog, in order, until a transfer ends and gives a frame
          back.  Each write has a serial number, and `after_writes` calls back once every
          write so far is DONE: a checkpoint's commit record waits for its log so
          (checkpoint.py).  A LOAD goes `in_order` behind the backlog, so it never reads a
          fresh object's home before the write that made it.
  read    at boot and shutdown (no process is running a system call) the kernel runs the
          server until the read is done (kernel.serve_until).  While the loop runs, a
          system call first fetches the sectors with `prefetch` (a generator: the caller
          sleeps until the server has them) and the store's read then finds them here.
"""

from ..mm.frames import PAGE_SIZE, OutOfMemory

SECTOR = 512
PER_FRAME = PAGE_SIZE // SECTOR
RESERVE = 4                      # frames kept for write-behind: a store operation writes <= 3
MAX_WRITING = 16                 # writes in flight before a system call waits for the server


class StoreIOError(OSError):
    """The object server could not move the store's sectors."""


class ServerSectorDevice:
    def __init__(self, kernel, link, nsectors: int):
        self.kernel = kernel
        self.link = link
        self.sector_count = self.nsectors = nsectors
        self.reads = self.writes = 0
        self.reserve: list[int] = []           # pinned frames for the next writes
        self.writing: list = []                # (Transfer) write-behind not yet done
        self.reading: list = []                # (Transfer, frame, sectors) until copied out
        self.fetched: dict[tuple[int, int], bytes] = {}
        self.backlog: list[tuple] = []         # (serial, lba, data) waiting for a frame, in order
        self.writes_queued = 0                 # serial of the last write given (one per frame)
        self.writes_done = 0                   # every write up to this serial is done
        self.failed_serials: list[int] = []
        self.barriers: list[tuple[int, int, object]] = []   # (serial, mark, callback)
        link.on_done = self.pump
        link.device = self

    # -- SectorDevice ---------------------------------------------------------------------
    def read(self, lba: int, count: int) -> bytes:
        self._check(lba, count)
        self.reads += 1
        data = self.fetched.pop((lba, count), None)
        if data is not None:
            return data
        if self.kernel.looping:
            raise RuntimeError(f'object store sectors {lba}+{count} read inside a system call '
                               f'without a prefetch')
        self.pump()
        if self.backlog:
            raise OutOfMemory()
        frames = [self._frame() for _ in range(0, count, PER_FRAME)]
        if None in frames:
            for frame in frames:
                if frame is not None:
                    self._drop(frame)
            raise OutOfMemory()
        transfers = self._start_reads(lba, count, frames)
        self.kernel.serve_until(lambda: all(t.done for t, _, _ in transfers))
        return self._finish_reads(transfers)

    def write(self, lba: int, data: bytes) -> None:
        if len(data) % SECTOR:
            raise ValueError(f'write of {len(data)} bytes: not a whole number of sectors')
        count = len(data) // SECTOR
        self._check(lba, count)
        self.writes += 1
        for first in range(0, count, PER_FRAME):
            n = min(PER_FRAME, count - first)
            self.writes_queued += 1
            self.backlog.append((self.writes_queued, lba + first,
                                 bytes(data[first * SECTOR:(first + n) * SECTOR])))
        self.pump()

    def in_order(self, post) -> None:
        """post() now if no write waits for a frame, else once those before it are
        queued: a LOAD of a fresh object must reach the server after its home write."""
        self.backlog.append((None, None, post))
        self.pump()

    def after_writes(self, mark: int, callback) -> None:
        """callback(ok) once every write given so far is on the disk (the server writes
        them in order, one command at a time); ok: none given after serial `mark` failed.
        A checkpoint waits so for its log before its commit record (checkpoint.py)."""
        self.barriers.append((self.writes_queued, mark, callback))
        self.pump()

    def pump(self) -> None:
        """Queue the backlog's writes, in order, while there are frames for them (from the
        reserve, else free memory; reclaim may be the caller, so none is waited for)."""
        self._reap()
        while self.backlog:
            if self.backlog[0][1] is None:      # an upcall that must follow the writes before it
                self.backlog.pop(0)[2]()
                continue
            frame = self._frame()
            if frame is None:
                return                  # the next finished transfer or write tries again
            serial, lba, data = self.backlog.pop(0)
            self.kernel.machine.memory.write(frame, data)
            transfer = self.link.request_sectors(lba, len(data) // SECTOR, frame, write=True)
            transfer.serial = serial
            self.writing.append(transfer)

    # -- for system calls -------------------------------------------------------------------
    def prefetch(self, p, lba: int, count: int):
        """A generator: read sectors through the server, sleeping meanwhile, so that the
        store's next read(lba, count) returns them at once."""
        if (lba, count) in self.fetched:
            return
        yield from self._drain_backlog(p)          # a read comes after every earlier write
        frames = []
        for _ in range(0, count, PER_FRAME):
            frames.append((yield from self._alloc_waiting(p)))
        transfers = self._start_reads(lba, count, frames)
        for transfer in transfers:
            while not transfer[0].done:
                yield transfer[0].waiters
        self.fetched[(lba, count)] = self._finish_reads(transfers)

    def fill_reserve(self, p, want: int = RESERVE):
        """A generator: make sure the next `want` writes have frames (waits for memory),
        and that the server is not too far behind (waits for it): back-pressure, so
        processes allocating objects cannot fill memory with writes still to do."""
        yield from self._drain_backlog(p)
        while len(self.writing) > MAX_WRITING:
            yield self.writing[0].waiters
            self._reap()
        while len(self.reserve) < want:
            frame = yield from self._alloc_waiting(p)
            self.reserve.append(frame)

    def _drain_backlog(self, p):
        self.pump()
        while self.backlog:
            self.reserve.append((yield from self._alloc_waiting(p)))
            self.pump()

    def release_reserve(self) -> None:
        """Shutdown: the frames set aside for writes go back."""
        while self.reserve:
            self._drop(self.reserve.pop())

    @property
    def idle(self) -> bool:
        self.pump()
        return not self.writing and not self.backlog

    # -- helpers ---------------------------------------------------------------------------
    def _check(self, lba: int, count: int) -> None:
        if lba < 0 or count < 0 or lba + count > self.nsectors:
            raise ValueError(f'sectors {lba}+{count} outside the object store')

    def _frame(self) -> int | None:
        """A pinned frame for one transfer: from the reserve, else free memory, else None."""
        if self.reserve:
            return self.reserve.pop()
        try:
            frame = self.kernel.frames.alloc(zero=False)
        except OutOfMemory:
            return None
        self.kernel.frames.pin(frame)
        return frame

    def _alloc_waiting(self, p):
        """A frame for process p's call (Reclaimer.alloc_for), pinned for the DMA."""
        frame = yield from self.kernel.reclaim.alloc_for(p, zero=False)
        self.kernel.frames.pin(frame)
        return frame

    def _start_reads(self, lba: int, count: int, frames: list[int]) -> list:
        transfers = []
        for first, frame in zip(range(0, count, PER_FRAME), frames):
            n = min(PER_FRAME, count - first)
            transfers.append((self.link.request_sectors(lba + first, n, frame, write=False), frame, n))
        self.reading += transfers
        return transfers

    def _finish_reads(self, transfers: list) -> bytes:
        out = bytearray()
        failed = False
        for transfer, frame, n in transfers:
            self.reading.remove((transfer, frame, n))
            failed |= transfer.error
            out += self.kernel.machine.memory.read(frame, n * SECTOR)
            self._drop(frame)
        if failed:
            raise StoreIOError('the object server could not read the object store')
        return bytes(out)

    def _reap(self) -> None:
        """Frames of finished writes go back (a failed write is logged: the store's own
        state in memory is still right, the disk is behind)."""
        still = []
        for transfer in self.writing:
            if not transfer.done:
                still.append(transfer)
                continue
            if transfer.error:
                self.kernel.log('ukern: object store: a metadata write failed')
                self.failed_serials.append(transfer.serial)
            self._drop(transfer.frame)
        self.writing = still
        # Done up to the oldest write still to do (a server that reorders its commands
        # cannot make a commit record overtake its log).
        pending = [t.serial for t in self.writing] + [b[0] for b in self.backlog if b[0] is not None]
        self.writes_done = min(pending) - 1 if pending else self.writes_queued
        self._pass_barriers()

    def _pass_barriers(self) -> None:
        """Call back whoever waits for writes that are now all done."""
        due = [b for b in self.barriers if b[0] <= self.writes_done]
        if not due:
            return
        self.barriers = [b for b in self.barriers if b[0] > self.writes_done]
        for serial, mark, callback in due:
            callback(not any(mark < failed <= serial for failed in self.failed_serials))

    def _drop(self, frame: int) -> None:
        self.kernel.frames.unpin(frame)
        self.kernel.frames.release(frame)

    def pinned_frames(self) -> list[int]:
        """For kernel/check.py: the reserve and the frames in flight."""
        self._reap()
        return list(self.reserve) + [t.frame for t in self.writing] + [f for _, f, _ in self.reading]
