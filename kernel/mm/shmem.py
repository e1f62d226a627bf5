"""Swap-backed pages of a file that lives in memory (a tmpfs file): Linux's shmem.

Such a file has no disk behind it: its pages are anonymous memory with a name.  Each page
index is in one of three states:

  - resident: a frame, referenced once by the file (and once more by each PTE that maps
    it, through the fault handler);
  - swapped: reclaim paged it out; the file holds the swap slot (mappers keep no PTE, a
    fault comes back here through the file, as Linux's shmem_fault does);
  - arriving: a swap-in is on its way into a fresh frame; whoever needs the page waits on
    the read's queue and asks again.

The reclaimer learns which frames are such pages through `own`/`disown`: it may evict them
even when they are mapped shared (by several processes), since the file, not the mappers,
keeps the slot.  When the page-out completes it calls `evicted`.  A page whose swap read
fails is lost: a read() gets EIO, a fault SIGBUS.
"""

from dataclasses import dataclass

from .frames import OutOfMemory


@dataclass
class Arriving:
    frame: int
    slot: int
    request: object          # the swap read (dev.blk.BlockRequest); .waiters to sleep on


class ShmemPages:
    """The pages of one memory file, index -> frame or swap slot."""

    def __init__(self, frames, reclaim):
        self.frames = frames
        self.reclaim = reclaim            # None only for a file system made without a kernel
        self.resident: dict[int, int] = {}
        self.swapped: dict[int, int] = {}
        self.arriving: dict[int, Arriving] = {}
        self.lost: set[int] = set()

    def __len__(self) -> int:
        return len(self.resident) + len(self.swapped) + len(self.arriving) + len(self.lost)

    def __contains__(self, index: int) -> bool:
        return index in self.resident or index in self.swapped or index in self.arriving \
            or index in self.lost

    def indices(self) -> set[int]:
        return set(self.resident) | set(self.swapped) | set(self.arriving) | self.lost

    def get(self, index: int) -> int | None:
        """The page's frame if it is in memory now."""
        return self.resident.get(index)

    # -- a page in memory ---------------------------------------------------------------------
    def add(self, index: int, frame: int) -> None:
        """A fresh frame (one reference, the file's) becomes page `index`."""
        self.resident[index] = frame
        if self.reclaim is not None:
            self.reclaim.own(frame, self, index)
            self.reclaim.track(frame)

    def written(self, frame: int) -> None:
        """write() changed the page: a page-out under way must not count."""
        if self.reclaim is not None:
            self.reclaim.redirty(frame)

    def drop(self, index: int) -> bool:
        """Page `index` leaves the file (truncate, last unlink).  True if it held a page."""
        frame = self.resident.pop(index, None)
        if frame is not None:
            if self.reclaim is not None:
                self.reclaim.disown(frame)
            self.frames.release(frame)
            return True
        slot = self.swapped.pop(index, None)
        if slot is not None:
            self.frames.swap.release(slot)
            return True
        if self.arriving.pop(index, None) is not None:
            return True                    # the read's completion frees its frame and slot
        if index in self.lost:
            self.lost.discard(index)
            return True
        return False

    # -- reclaim's side -------------------------------------------------------------------------
    def evicted(self, index: int, frame: int, slot: int) -> bool:
        """Reclaim wrote the page to `slot` and unmapped it everywhere: the file keeps the
        slot and lets its frame go.  False if the page left the file meanwhile."""
        if self.resident.get(index) != frame:
            return False
        del self.resident[index]
        self.swapped[index] = slot
        if self.reclaim is not None:
            self.reclaim.disown(frame)
        self.frames.release(frame)
        return True

    # -- bringing pages back ---------------------------------------------------------------------
    def page_in(self, index: int):
        """Make sure page `index` is on its way into memory.  Returns None when it is resident
        (or absent: a hole), else the Arriving read to wait for."""
        slot = self.swapped.get(index)
        if slot is not None:
            try:
                frame = self.frames.alloc(zero=False)
            except OutOfMemory:
                return None                # the caller's own allocation will wait for memory
            del self.swapped[index]
            arriving = Arriving(frame, slot, None)
            self.arriving[index] = arriving
            arriving.request = self.frames.swap.read(
                frame, slot, lambda req, i=index, a=arriving: self._arrived(i, a, req))
        return self.arriving.get(index)

    def _arrived(self, index: int, arriving: Arriving, req) -> None:
        self.frames.swap.release(arriving.slot)
        if self.arriving.get(index) is not arriving:      # dropped while the read ran
            self.frames.release(arriving.frame)
            return
        del self.arriving[index]
        if req.error:
            self.frames.release(arriving.frame)
            self.lost.add(index)
            return
        self.add(index, arriving.frame)

    def forget(self) -> int:
        """Every page leaves (the file is gone); returns how many there were."""
        indices = self.indices()
        for index in indices:
            self.drop(index)
        return len(indices)
