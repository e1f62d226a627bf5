"""The swap area: page-sized slots on a disk, where anonymous pages go under memory pressure.

A swapped-out page leaves a swap entry in each PTE that mapped it: not present, the SWAP
software bit, the slot number in bits 12 and up.  A slot has a reference count (how many
PTEs hold it).  While a slot's page is in memory again for some of its mappers, the swap
cache keeps slot -> frame so that the others find the same frame (copy-on-write sharing
survives swapping).  All transfers are DMA through the block layer, like any other I/O.

The free slots are a map with a byte per slot (1: free), searched from the lowest slot that
may be free, so a run repeats exactly and the host pays a byte per slot, not a Python int;
reference counts are kept only for the slots in use.
"""

from dataclasses import dataclass

from ..dev.blk import BlockRequest
from .frames import PAGE_SIZE

from ..tools.mkdisk import SWAP_TYPE  # noqa: F401 (re-exported: the MBR type of a swap partition)


@dataclass
class CachedSlot:
    """A swap slot's page back in memory (the swap cache), or on its way."""
    frame: int
    request: BlockRequest | None      # the read still in flight, if any


class SwapArea:
    def __init__(self, kernel, disk, start_lba: int, nsectors: int):
        self.kernel = kernel
        self.disk = disk
        self.start_lba = start_lba
        self.per_slot = PAGE_SIZE // disk.sector_size
        self.nslots = nsectors // self.per_slot
        self._free_map = bytearray(max(1, self.nslots))     # 1: the slot is free
        self._free_map[1:] = b'\x01' * (self.nslots - 1)   # slot 0 is never used: a header, as Linux's
        self._nfree = max(0, self.nslots - 1)
        self._low = 1                                       # no free slot lies below this
        self.refs: dict[int, int] = {}    # slot in use -> how many PTEs (and caches) hold it
        self.cache: dict[int, CachedSlot] = {}
        self.failed: set[int] = set()     # slots whose read failed: their page is lost
        self._slot_by_frame: dict[int, int] = {}   # frame -> slot, for cached copies that arrived

    @property
    def free_slots(self) -> int:
        return self._nfree

    def alloc(self) -> int | None:
        """The lowest free slot, with one reference; None when the area is full."""
        slot = self._free_map.find(1, self._low)
        if slot < 0:
            return None
        self._free_map[slot] = 0
        self._nfree -= 1
        self._low = slot + 1
        self.refs[slot] = 1
        return slot

    def share(self, slot: int) -> None:
        self.refs[slot] += 1

    def release(self, slot: int) -> None:
        left = self.refs[slot] - 1
        if left:
            self.refs[slot] = left
            return
        del self.refs[slot]
        if slot in self.cache:
            self.drop_cached(slot)
        self._free_map[slot] = 1
        self._nfree += 1
        self._low = min(self._low, slot)

    def _request(self, frame: int, slot: int, write: bool, on_done) -> BlockRequest:
        req = BlockRequest(self.disk, self.start_lba + slot * self.per_slot, self.per_slot,
                           [(frame, PAGE_SIZE)], write=write, on_done=on_done)
        return self.disk.queue.submit(req)

    def write(self, frame: int, slot: int, on_done) -> BlockRequest:
        return self._request(frame, slot, True, on_done)

    def read(self, frame: int, slot: int, on_done) -> BlockRequest:
        """Read a slot into a frame of the caller's (a tmpfs page coming back, mm/shmem.py)."""
        return self._request(frame, slot, False, on_done)

    def slot_of(self, frame: int) -> int | None:
        """The slot whose swap-cache copy `frame` is (such a frame is always clean: the
        cache's own reference makes every mapping of it copy-on-write)."""
        return self._slot_by_frame.get(frame)

    def drop_cached(self, slot: int) -> None:
        """Forget the in-memory copy of a slot: its frame reference goes now, or, if its
        read is still in flight, when the read completes."""
        cached = self.cache.pop(slot)
        self._slot_by_frame.pop(cached.frame, None)
        if cached.request is None:
            self.kernel.frames.release(cached.frame)

    def read_into_cache(self, slot: int) -> CachedSlot:
        """Start reading a slot into a fresh frame held by the swap cache."""
        frame = self.kernel.frames.alloc(zero=False)
        cached = CachedSlot(frame, None)

        def done(req):
            cached.request = None
            if self.cache.get(slot) is not cached:      # forgotten while the read was in flight
                self.kernel.frames.release(frame)
            elif req.error:                 # the page is lost: its mappers will get SIGBUS
                del self.cache[slot]
                self.kernel.frames.release(frame)
                self.failed.add(slot)
            else:
                self._slot_by_frame[frame] = slot
        cached.request = self._request(frame, slot, False, done)
        self.cache[slot] = cached
        return cached
