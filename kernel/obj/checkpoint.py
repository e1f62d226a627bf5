"""Checkpoints in the kernel: the whole object space saved at one instant, while it runs.

EROS saves its persistent objects as a sequence of consistent checkpoints; so does ukern.
A checkpoint is taken every --checkpoint-ms of virtual time (while objects change), at
ukern_objsync()/sync() (which return once it is committed), at shutdown, and whenever the
log would otherwise overflow.  Its life (log.py has the on-disk side):

  capture   at one instant, with nothing else running: every dirty node is copied (528
            bytes), every dirty page is *not* copied but write-protected in every mapping
            of it (found through the reverse map) and held by the checkpoint (one frame
            reference); its CRC goes into the store's checksum table; then the allocation
            maps, as they are at that instant, are copied sector by sector.  The dirty set
            is emptied: processes go on running at once.
  log       everything goes to the disk through the object server, which alone drives
            the store's controller (server.py): nodes and map sectors as the store's own
            writes (WRITE upcalls of disk.py's ServerSectorDevice, which writes behind, in
            order), each page as a STORE of the held frame to its log sectors.
  commit    when every page is STORED and every write before them DONE: the directory,
            then the commit record, queued behind them; once the record's DONE is in, the
            checkpoint is the state the next boot recovers, and sync() returns.
  migrate   the same entries go to their home locations (pages again as STOREs); when all
            are on the disk the held frames are released, and OIDs freed before the
            capture may be reused.

The kernel writes nothing itself.  A STORE that fails is tried again (STORE_RETRIES); when
the disk still cannot be reached, or the server is gone, checkpoints stop (fail): the store
on the disk stays at its last commit, which the next boot recovers, and sync() says EIO.

Copy-on-write: a process that writes a held page after the capture faults (the page is
read-only), and copy_for_writer gives the object a new frame, a copy, in the object cache
and in every mapping; the checkpoint keeps the captured frame, which may be under DMA to
the log at that very moment.  So nothing is copied unless it is written during the
checkpoint, and what the checkpoint writes never changes under it.

A page under DMA (I/O-pinned) when a checkpoint begins: the checkpoint holds its NEW
contents.  The capture is put off (retried every RETRY_NS of virtual time) until no dirty
page is pinned, and then everything is captured at that one later instant.  Why new and not
old: a device writing into the frame has already overwritten part of the old contents, and
no other copy of them exists, so the only whole state the frame will ever hold is the one
after the transfer; and capturing that page later than the others would break the single
instant (a process could change another captured object meanwhile), so the whole capture
moves.  A device reading from the frame leaves it unchanged, but waiting costs no more than
telling the two apart.  The checkpoint's own STOREs never meet this rule: one checkpoint
runs at a time, and a capture happens only when the previous one is home.

The log holds at most half the checkpoint area, so a process that is about to dirty one
object more than fits waits (its page fault, or its capability call) until a checkpoint has
made room: EROS blocks such writers the same way.
"""

import zlib

from ..mm.frames import PAGE_SIZE
from ..mm.pagetable import ADDR_MASK, W
from ..proc.wait import WaitQueue
from . import log

RETRY_NS = 100_000        # a dirty page is under DMA: try the capture again 0.1 ms later
STORE_RETRIES = 2         # a STORE that failed is tried this many times more


def writes_queued(dev) -> int:
    """How many writes the store's device has been given (a mark for after_writes)."""
    return getattr(dev, 'writes_queued', 0)


def after_writes(dev, mark: int, callback) -> None:
    """callback(ok) once every write given to the device so far is on the disk; ok says
    whether those given after `mark` all succeeded.  The object server's device
    (disk.py) writes behind; a host file's device has written them already."""
    if hasattr(dev, 'after_writes'):
        dev.after_writes(mark, callback)
    else:
        callback(True)


class Checkpointer:
    def __init__(self, space):
        self.space = space
        self.kernel = space.kernel
        self.store = space.store
        self.current: log.Checkpoint | None = None   # being written (log or migrate phase)
        self.migrating = False
        self.held: dict[int, int] = {}       # OID -> the captured frame (one reference each)
        self.writing: dict[int, tuple] = {}  # OID -> (sector, count) of a STORE in flight
        self.retries: dict[int, int] = {}    # OID -> STOREs of it that failed this phase
        self._phase_mark = 0                 # the store's writes queued when the phase began
        self._waiting_writes = False
        self._committed = self.store.sequence  # on the disk: its commit record is written
        self.failed: str | None = None       # why checkpoints stopped (the disk is unreachable)
        self.wanted = self.store.sequence    # the newest checkpoint somebody waits for
        self.done = WaitQueue('checkpoint')  # woken at every commit and when one is home
        self.period_ns = 0                   # --checkpoint-ms, in ns (0: only when asked)
        self._armed = False
        self._retry = None                   # the capture's clock event, when one is due
        self.taken = 0

    @property
    def committed(self) -> int:
        return self._committed

    # -- asking for one ---------------------------------------------------------------------
    def request(self) -> int:
        """Checkpoint everything as it is now; returns the sequence number that will hold
        it (the one being written, if nothing changed since it was captured)."""
        changed = bool(self.space.dirty or self.store.dirty_maps)
        if self.current is not None:
            target = self.current.sequence + (1 if changed else 0)
        else:
            target = self.committed + (1 if changed else 0)
        self.wanted = max(self.wanted, target)
        if self.failed is None and self.current is None and self._retry is None \
                and self.wanted > self.committed:
            # Captured from the kernel's loop, as an event due now: never in the middle of
            # a page fault, a reclaim pass or an allocation that asked for it.
            self._retry = self.kernel.clock.schedule_in(0, self._capture)
        return target

    def wait_for(self, sequence: int):
        """A generator: wait until checkpoint `sequence` has committed; False if it never
        will (checkpoints stopped: the store's disk cannot be reached)."""
        while self.committed < sequence:
            if self.failed is not None:
                return False
            yield self.done
        return True

    def settled(self) -> bool:
        """Nothing being written, and nothing wanted that is not (shutdown waits for it)."""
        return self.failed is not None or (self.current is None and self._retry is None
                                           and self.wanted <= self.committed)

    def object_changed(self) -> None:
        """Something became dirty: make sure the periodic timer runs."""
        if self.period_ns and not self._armed:
            self._armed = True
            self.kernel.clock.schedule_in(self.period_ns, self._tick)

    def _tick(self) -> None:
        """--checkpoint-ms: a checkpoint if anything changed; the timer stops when nothing
        did (object_changed restarts it), so an idle machine has no events left."""
        self._armed = False
        if self.failed is None and (self.space.dirty or self.store.dirty_maps):
            self.request()
            self.object_changed()

    # -- capture ----------------------------------------------------------------------------
    def _capture(self) -> None:
        self._retry = None
        space, frames, memory = self.space, self.kernel.frames, self.kernel.machine.memory
        pages = {oid: space.pages[oid] for oid in space.dirty if oid in space.pages}
        if any(frames.pinned(frame) for frame in pages.values()):
            self._retry = self.kernel.clock.schedule_in(RETRY_NS, self._capture)   # see above
            return
        objects = []
        for oid in sorted(space.dirty):
            if not self.store.is_allocated(oid):
                continue
            if oid in pages:
                frame = pages[oid]
                self._write_protect(frame)
                frames.share(frame)
                self.held[oid] = frame
                objects.append((oid, zlib.crc32(memory.read(frame, PAGE_SIZE)), None))
            elif oid in space.nodes:
                data = bytes(space.nodes[oid])
                sectors = self.store.locate(oid)[0].object_sectors
                objects.append((oid, zlib.crc32(log.padded(data, sectors)), data))
        space.dirty.clear()
        self.current = self.store.plan_checkpoint(objects)
        self.taken += 1
        self._trace('capture', pages=len(pages), entries=len(self.current.entries))
        self._write_entries(lambda entry: entry.log_lba)

    def _write_protect(self, frame: int) -> None:
        for aspace, va in self.kernel.frames.rmap.mappers(frame):
            pte = aspace.pt.lookup(va)
            if pte & W:
                aspace.pt.update(va, pte & ~W)
                self.kernel.flush_tlb_of(aspace)

    # -- log, commit, migrate ------------------------------------------------------------------
    def _write_entries(self, where) -> None:
        """Every entry to where(entry): nodes and map sectors as the store's own writes
        (disk.py: WRITE upcalls), pages as STOREs of the held frames; both go through the
        object server.  The phase ends when each page is STORED and the writes are done."""
        link = self.space.link
        if link is None or not link.running:
            self.server_gone()
            return
        self._phase_mark = writes_queued(self.store.dev)
        for entry in self.current.entries:
            if entry.data is not None:
                self.store.dev.write(where(entry), entry.data)
        for entry in self.current.entries:
            if entry.kind == log.EntryKind.PAGE:
                self._store_page(entry.oid, where(entry), entry.sectors)
        self._phase_check()

    def _store_page(self, oid: int, lba: int, sectors: int) -> None:
        self.writing[oid] = (lba, sectors)
        self.space.link.request_store(oid, self.held[oid], lba, sectors, self._page_written)

    def _page_written(self, oid: int, ok: bool) -> None:
        where = self.writing.get(oid)
        if where is None or self.current is None:
            return
        if not ok:
            self.retries[oid] = self.retries.get(oid, 0) + 1
            if self.retries[oid] <= STORE_RETRIES:
                self._store_page(oid, *where)          # the server restarted its port
                return
            self.fail(f'page {oid:#x} could not be written to sector {where[0]}')
            return
        del self.writing[oid]
        self._phase_check()

    def _phase_check(self) -> None:
        """The pages are written: wait for the store's writes queued before them too (the
        log's nodes and maps, or their homes), then the phase is done."""
        if self.writing or self.current is None or self._waiting_writes:
            return
        self._waiting_writes = True
        after_writes(self.store.dev, self._phase_mark, self._writes_done)

    def _writes_done(self, ok: bool) -> None:
        self._waiting_writes = False
        if self.current is None:
            return
        if not ok:
            self.fail('a write of the object store failed')
        elif not self.migrating:
            self._commit()
        else:
            self._home()

    def _commit(self) -> None:
        """Every entry is in the log: the directory and the commit record, queued after it
        (the server writes in order); committed once the record is on the disk."""
        mark = writes_queued(self.store.dev)
        self.store.write_commit(self.current)
        after_writes(self.store.dev, mark, self._committed_now)

    def _committed_now(self, ok: bool) -> None:
        if self.current is None:
            return
        if not ok:
            self.fail(f'the commit record of checkpoint {self.current.sequence} was not written')
            return
        self._committed = self.current.sequence
        self._trace('commit', sequence=self.current.sequence)
        self.done.wake_all(self.kernel.wake)
        self.migrating = True
        self.retries.clear()
        self._write_entries(lambda entry: entry.home_lba)

    def _home(self) -> None:
        self._trace('home', sequence=self.current.sequence)
        self.kernel.vmstat['object_writebacks'] += sum(e.kind == log.EntryKind.PAGE
                                                       for e in self.current.entries)
        self._release_held()
        self.current, self.migrating = None, False
        self.retries.clear()
        self.store.migrated()
        self.done.wake_all(self.kernel.wake)
        if self.wanted > self.committed:
            self._retry = self.kernel.clock.schedule_in(0, self._capture)

    def _release_held(self) -> None:
        for frame in self.held.values():
            self.kernel.frames.release(frame)
        self.held.clear()

    # -- when the disk cannot be reached -------------------------------------------------------
    def fail(self, why: str) -> None:
        """The checkpoint being written cannot be finished: the store on the disk stays at
        the last one committed (recovery finds it), no more checkpoints are taken this
        boot, and whoever waits for one is told (EIO)."""
        if self.failed is None:
            self.failed = why
            self.kernel.log(f'ukern: object store: checkpoints stopped: {why}')
        self.writing.clear()
        if self.current is not None:
            self._release_held()
            self.current, self.migrating = None, False
        if self._retry is not None:
            self.kernel.clock.cancel(self._retry)
            self._retry = None
        self.done.wake_all(self.kernel.wake)

    def server_gone(self) -> None:
        self.fail('the object server is gone')

    # -- copy-on-write ------------------------------------------------------------------------
    def copy_for_writer(self, oid: int, frame: int) -> int:
        """A process writes page `oid`, whose frame the checkpoint holds: the object gets a
        copy (in the cache and every mapping, read-only until the write fault goes on);
        the checkpoint keeps `frame`.  Returns the frame the object now has.  Raises
        OutOfMemory when no frame is free (the fault path says so to the process)."""
        if self.held.get(oid) != frame:
            return frame
        frames, memory = self.kernel.frames, self.kernel.machine.memory
        copy = frames.alloc(zero=False)                # its first reference: the cache's
        memory.copy(copy, frame, PAGE_SIZE)
        for aspace, va in frames.rmap.mappers(frame):
            pte = aspace.pt.lookup(va)
            aspace.replace_page(va, frame, copy, pte & ~ADDR_MASK & ~W)
            frames.share(copy)
            frames.release(frame)
            self.kernel.flush_tlb_of(aspace)
        self.space.pages[oid] = copy
        frames.release(frame)                          # the cache's reference to the old one
        self.kernel.vmstat['checkpoint_cow_copies'] += 1
        return copy

    def room_for(self, more: int = 1) -> bool:
        """Whether `more` objects can become dirty and still fit one checkpoint."""
        return self.store.fits(len(self.space.dirty) + more, 0)

    def _trace(self, what: str, **args) -> None:
        if self.kernel.trace.enabled:
            self.kernel._emit('object', None, what=f'checkpoint {what}', **args)

