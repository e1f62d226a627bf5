"""Physical frame allocator: every frame of RAM has a reference count and a pin count.

A frame is free when its reference count is zero.  Copy-on-write shares a frame by raising
its count; DMA (and the object server's fixed resources) pin it, and nothing that reclaims
memory may take a pinned frame.  Free frames are handed out lowest address first, so a run
repeats exactly.

The free frames are a bitmap with a byte per frame, so that a run of physically contiguous
frames is one search (bytearray.find in C): the buffer cache keeps a file's consecutive
blocks in one run, which the disk fills with a single DMA segment and the kernel copies
out with a single memmove.
"""

from array import array

from emu.memory import PhysicalMemory
from .rmap import ReverseMap

PAGE_SIZE = 4096
PAGE_SHIFT = 12
_ZERO_PAGE = bytes(PAGE_SIZE)


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
        first_pfn = first // PAGE_SIZE
        self._free_map = bytearray(nframes)              # 1: the frame is free
        self._free_map[first_pfn:] = b'\x01' * (nframes - first_pfn)
        self._nfree = self.total = nframes - first_pfn
        self._low = first_pfn                            # no free frame lies below this
        # No frame from here up has ever been handed out: guest RAM is a fresh anonymous
        # mapping, so such a frame still reads as zeros and needs no clearing (and the host
        # backs it with memory only when the guest first writes it).
        self._untouched = first_pfn
        self.rmap = ReverseMap()
        self.swap = None               # the swap area (mm/swap.py), when there is one
        self.aio = None                # page-level asynchronous I/O (mm/aio.py)
        self.objects = None            # the persistent object space (obj/objects.py)
        self.on_free = None            # reclaim's hook: a frame left the reclaimable set
        self.on_split = None           # reclaim's hook: a 2 MiB page became 512 pages (mm/huge.py)

    @property
    def free_count(self) -> int:
        return self._nfree

    def alloc(self, zero: bool = True) -> int:
        """A fresh frame with reference count 1; returns its physical address.
        (alloc_run(1) spelled out: every demand-zero fault comes here.)"""
        pfn = self._free_map.find(1, self._low)
        if pfn < 0:
            raise OutOfMemory()
        self._free_map[pfn] = 0
        self.refcount[pfn] = 1
        self._nfree -= 1
        if pfn == self._low:
            self._low = pfn + 1
        addr = pfn << PAGE_SHIFT
        if pfn >= self._untouched:
            self._untouched = pfn + 1
        elif zero:                                 # (memory.fill without its bounds check:
            self.memory.view[addr:addr + PAGE_SIZE] = _ZERO_PAGE   # the frame is in RAM)
        return addr

    def alloc_run(self, count: int, zero: bool = True) -> int | None:
        """`count` physically contiguous fresh frames (the lowest such run), each with
        reference count 1; returns the first one's address, or None if no run is free
        (the caller asks for less: memory is fragmented, not full)."""
        pfn = self._free_map.find(b'\x01' * count, self._low)
        return self._take_run(pfn, count, zero) if pfn >= 0 else None

    def alloc_aligned_run(self, count: int) -> int | None:
        """`count` (a power of two) contiguous fresh zeroed frames whose first frame number
        is a multiple of `count`: a 2 MiB page needs a 2 MiB-aligned physical run, which
        alloc_run's lowest run need not be.  None when no such run is free."""
        ones = b'\x01' * count
        pfn = -(-self._low // count) * count
        while True:
            pfn = self._free_map.find(ones, pfn)
            if pfn < 0:
                return None
            if not pfn & (count - 1):
                break
            pfn = (pfn | (count - 1)) + 1          # the next aligned start: look again there
        return self._take_run(pfn, count, zero=True)

    def _take_run(self, pfn: int, count: int, zero: bool) -> int:
        """Hand out the free run from pfn; zero the frames handed out before (those never
        used are zero already).  Returns its address."""
        self._take(pfn, count)
        addr = pfn << PAGE_SHIFT
        used = min(count, self._untouched - pfn)
        if zero and used > 0:
            self.memory.fill(addr, used * PAGE_SIZE)
        self._untouched = max(self._untouched, pfn + count)
        return addr

    def _take(self, pfn: int, count: int) -> None:
        self._free_map[pfn:pfn + count] = bytes(count)
        self.refcount[pfn:pfn + count] = array('I', [1]) * count
        self._nfree -= count
        if pfn == self._low:
            self._low = pfn + count

    def _put(self, pfn: int, count: int = 1) -> None:
        if self.on_free is not None:
            self.on_free(pfn << PAGE_SHIFT, count)
        self._free_map[pfn:pfn + count] = b'\x01' * count
        self._nfree += count
        if pfn < self._low:
            self._low = pfn

    def share(self, addr: int) -> None:
        self.refcount[addr >> PAGE_SHIFT] += 1

    def release(self, addr: int) -> bool:
        """Drop one reference; the frame is freed at zero.  Returns True if it was freed."""
        pfn = addr >> PAGE_SHIFT
        assert self.refcount[pfn] > 0, f'release of free frame {addr:#x}'
        self.refcount[pfn] -= 1
        if self.refcount[pfn] or self.pins[pfn]:
            return False
        self._put(pfn)
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
            self._put(pfn)

    def pinned(self, addr: int) -> bool:
        return self.pins[addr >> PAGE_SHIFT] > 0

    # -- runs: the same operations on `count` consecutive frames, in C when they all agree --
    def release_run(self, addr: int, count: int) -> None:
        pfn = addr >> PAGE_SHIFT
        if self.refcount[pfn:pfn + count] == array('I', [1]) * count and not self.any_pinned(addr, count):
            self.refcount[pfn:pfn + count] = array('I', bytes(4 * count))
            self._put(pfn, count)
            return
        for i in range(count):
            self.release(addr + i * PAGE_SIZE)

    def release_all(self, frames: list[int]) -> None:
        """Drop one reference to each frame (in any order); runs of consecutive frames
        go back together (an address space's teardown)."""
        frames.sort()
        i, n = 0, len(frames)
        while i < n:
            j = i + 1
            while j < n and frames[j] == frames[j - 1] + PAGE_SIZE:
                j += 1
            if j - i == 1:
                self.release(frames[i])
            else:
                self.release_run(frames[i], j - i)
            i = j

    def pin_run(self, addr: int, count: int) -> None:
        pfn = addr >> PAGE_SHIFT
        pins = self.pins[pfn:pfn + count]
        same = pins == array('I', [pins[0]]) * count          # the usual case: all alike
        self.pins[pfn:pfn + count] = array('I', [pins[0] + 1]) * count if same else \
            array('I', [n + 1 for n in pins])

    def unpin_run(self, addr: int, count: int) -> None:
        pfn = addr >> PAGE_SHIFT
        pins = self.pins[pfn:pfn + count]
        first = pins[0]
        if first and pins == array('I', [first]) * count and \
                (first > 1 or self._all_referenced(pfn, count)):
            self.pins[pfn:pfn + count] = array('I', [first - 1]) * count   # nothing to free
            return
        for i in range(count):
            self.unpin(addr + i * PAGE_SIZE)

    def _all_referenced(self, pfn: int, count: int) -> bool:
        """Does every one of the `count` frames from pfn have a reference?  (Each once, the
        usual case, is one comparison in C; `in` on the array would make an int of each.)"""
        refs = self.refcount[pfn:pfn + count]
        return refs == array('I', [1]) * count or 0 not in refs

    def any_shared(self, addr: int, count: int) -> bool:
        """Is any of the `count` frames from addr referenced more than once (mapped)?
        (A buffer cache run whose frames are each referenced once is answered by one
        comparison in C; max() over the run makes an int of every entry, 40 µs for 1024.)"""
        pfn = addr >> PAGE_SHIFT
        refs = self.refcount[pfn:pfn + count]
        return refs != array('I', [1]) * count and max(refs) > 1

    def any_pinned(self, addr: int, count: int) -> bool:
        pfn = addr >> PAGE_SHIFT
        return self.pins[pfn:pfn + count] != array('I', bytes(4 * count))
