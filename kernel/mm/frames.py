"""Physical frame allocator: every frame of RAM has a reference count and a pin count.

A frame is free when its reference count is zero.  Copy-on-write shares a frame by raising
its count; DMA (and the object server's fixed resources) pin it, and nothing that reclaims
memory may take a pinned frame.  Free frames are handed out lowest address first, so a run
repeats exactly.
"""

import heapq
from array import array

from emu.memory import PhysicalMemory
from .rmap import ReverseMap

PAGE_SIZE = 4096
PAGE_SHIFT = 12


class OutOfMemory(Exception):
    pass


class FrameAllocator:
    def __init__(self, memory: PhysicalMemory, first: int, end: int):
        self.memory = memory
        self.first = first
        self.end = end
        nframes = end // PAGE_SIZE
        self.refcount = array('I', bytes(4 * nframes))
        self.pins = array('I', bytes(4 * nframes))
        self._free = list(range(first // PAGE_SIZE, nframes))  # already a heap: sorted
        self.total = len(self._free)
        self.rmap = ReverseMap()
        self.swap = None               # the swap area (mm/swap.py), when there is one
        self.aio = None                # page-level asynchronous I/O (mm/aio.py)
        self.objects = None            # the persistent object space (obj/objects.py)
        self.on_free = None            # reclaim's hook: a frame left the reclaimable set

    @property
    def free_count(self) -> int:
        return len(self._free)

    def alloc(self, zero: bool = True) -> int:
        """A fresh frame with reference count 1; returns its physical address."""
        if not self._free:
            raise OutOfMemory()
        pfn = heapq.heappop(self._free)
        self.refcount[pfn] = 1
        addr = pfn << PAGE_SHIFT
        if zero:
            self.memory.fill(addr, PAGE_SIZE)
        return addr

    def share(self, addr: int) -> None:
        self.refcount[addr >> PAGE_SHIFT] += 1

    def release(self, addr: int) -> bool:
        """Drop one reference; the frame is freed at zero.  Returns True if it was freed."""
        pfn = addr >> PAGE_SHIFT
        assert self.refcount[pfn] > 0, f'release of free frame {addr:#x}'
        self.refcount[pfn] -= 1
        if self.refcount[pfn] or self.pins[pfn]:
            return False
        if self.on_free is not None:
            self.on_free(addr)
        heapq.heappush(self._free, pfn)
        return True

    def refs(self, addr: int) -> int:
        return self.refcount[addr >> PAGE_SHIFT]

    def pin(self, addr: int) -> None:
        self.pins[addr >> PAGE_SHIFT] += 1

    def unpin(self, addr: int) -> None:
        """A pinned frame whose last reference went away while pinned is freed here."""
        pfn = addr >> PAGE_SHIFT
        assert self.pins[pfn] > 0
        self.pins[pfn] -= 1
        if not self.pins[pfn] and not self.refcount[pfn]:
            if self.on_free is not None:
                self.on_free(pfn << PAGE_SHIFT)
            heapq.heappush(self._free, pfn)

    def pinned(self, addr: int) -> bool:
        return self.pins[addr >> PAGE_SHIFT] > 0
