"""Address spaces: a page table plus a sorted list of regions that says what may be mapped.

A region is a range of pages with a protection and a kind (anonymous, ELF segment, heap,
stack).  Pages are mapped lazily by the fault handler; the region says how to fill a page
(zero it, or copy it from the ELF image) and with which rights.
"""

import bisect
import enum
import operator
from dataclasses import dataclass, field

from .frames import FrameAllocator, OutOfMemory, PAGE_SIZE
from . import huge
from .pagetable import PageTable, USER_TOP, KERNEL_HALF_INDEX, U, W, NX, P, D, COW, SWAP, BLOCKED, ADDR_MASK


class Prot(enum.IntFlag):
    """mmap/mprotect protection bits (PROT_*)."""
    NONE = 0
    READ = 1
    WRITE = 2
    EXEC = 4


class Kind(enum.Enum):
    ANON = 'anon'
    ELF = 'elf'
    HEAP = 'heap'
    STACK = 'stack'
    FILE = 'file'
    OBJECT = 'object'
    DEVICE = 'device'       # a controller's registers (kernel/obj/devcap.py): not RAM


@dataclass
class FileImage:
    """Bytes a region's pages are filled from: file[offset:offset+filesz], then zeros."""
    data: bytes
    offset: int          # file offset of the region's start address
    filesz: int          # bytes of file content from the region's start
    base: int = 0        # the file offset of data[0] (a copied file mapping's mmap offset)


@dataclass
class MappedFile:
    """A file mapped with mmap: the disk blocks of its pages, through the buffer cache
    (a page of the file is a 4 KiB block: the same frame read() and write() use)."""
    cache: object            # fs.bcache.BufferCache
    blocks: list[int]        # block number of each page of the region (0: beyond the file)
    direct: bool = False     # MAP_DIRECT: private frames, filled by DMA (not the cache's)
    nosync: bool = False     # MAP_NOSYNC: changes are never written back
    pending: dict = field(default_factory=dict)   # MAP_DIRECT: page index -> its read in flight
    holder: object = None    # fs.ext2_vfs.InodeHold: each region mapping the file holds its inode
    first: int = 0           # the file page at the region's start (mremap maps the next ones)

    def hold(self) -> None:
        if self.holder is not None:
            self.holder.hold()

    def drop(self) -> None:
        if self.holder is not None:
            self.holder.drop()

    def part(self, lo: int, hi: int) -> 'MappedFile':
        """The pages [lo, hi) of this mapping, as a mapping of their own (same holder)."""
        return MappedFile(self.cache, self.blocks[lo:hi], self.direct, self.nosync,
                          holder=self.holder, first=self.first + lo)


@dataclass
class Region:
    """A range of an address space with one protection and one kind of backing."""
    start: int
    end: int
    prot: Prot
    kind: Kind
    name: str = ''
    image: FileImage | None = None
    shared: bool = False
    file: MappedFile | None = None
    obj: object = None       # a page object's capability (kernel/obj): the region maps it
    shm: tuple | None = None  # System V shared memory (ipc/shm.py): (segment, its page at start)
    # fault-around (mm/fault.py): where a sequential stream of faults will fault next, and
    # how many pages its last fault mapped
    stream_next: int = -1
    stream_window: int = 0

    def __contains__(self, va: int) -> bool:
        return self.start <= va < self.end

    def pte_flags(self) -> int:
        prot = int(self.prot)
        return U | (W if prot & 2 else 0) | (0 if prot & 4 else NX)

    def split_at(self, va: int) -> 'Region':
        """Cut this region at va; returns the upper part."""
        upper = Region(va, self.end, self.prot, self.kind, self.name, None, self.shared)
        if self.shm is not None:
            upper.shm = (self.shm[0], self.shm[1] + (va - self.start) // PAGE_SIZE)
        if self.file:
            cut = (va - self.start) // PAGE_SIZE
            upper.file = self.file.part(cut, len(self.file.blocks))
            self.file = self.file.part(0, cut)
            self.file.hold()                # one region became two
        if self.image:
            upper.image = FileImage(self.image.data, self.image.offset + (va - self.start),
                                    max(0, self.image.filesz - (va - self.start)), self.image.base)
        self.end = va
        return upper


_START = operator.attrgetter('start')


def page_down(x: int) -> int:
    return x & ~(PAGE_SIZE - 1)


def page_up(x: int) -> int:
    return (x + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


STACK_TOP = 0x7FFF_FFFF_F000
STACK_INITIAL = 128 * 1024
STACK_LIMIT = 8 << 20            # RLIMIT_STACK when no limits are attached
RLIMIT_STACK, RLIMIT_AS = 3, 9   # proc/resources.py: Rlimit
STACK_GAP = 64 * 1024 + 256      # how far below rsp a push may reach (as Linux allows)
MMAP_TOP = 0x7F00_0000_0000      # anonymous mmaps are placed downwards from here
ELF_MIN = 0x10000                # nothing is mapped below this (mmap_min_addr)


def _alike(a: Region, b: Region) -> bool:
    """Two private anonymous regions that could be one (AddressSpace.merge_run)."""
    return all(r.kind is Kind.ANON and not r.shared and r.image is None and r.file is None
               and r.obj is None and r.shm is None for r in (a, b)) \
        and a.prot == b.prot and a.name == b.name


class AddressSpace:
    def __init__(self, frames: FrameAllocator, kernel_pdpt: int):
        self.frames = frames
        self.kernel_pdpt = kernel_pdpt
        self.pt = PageTable(frames.memory, frames)
        self.pt.on_split = self._split_books
        self.pt.mem.write_u64(self.pt.root + KERNEL_HALF_INDEX * 8, kernel_pdpt | P | W)
        self.regions: list[Region] = []
        self.brk_start = 0
        self.brk = 0
        self.limits = None       # the owner's proc.resources.Limits (RLIMIT_STACK, RLIMIT_AS)

    def stack_limit(self) -> int:
        return self.limits.soft(RLIMIT_STACK) if self.limits is not None else STACK_LIMIT

    def may_grow(self, length: int) -> bool:
        """Would `length` more bytes of mappings stay within RLIMIT_AS?"""
        if self.limits is None:
            return True
        return self.size() + length <= self.limits.soft(RLIMIT_AS)

    def size(self) -> int:
        """Bytes of address space mapped (VmSize)."""
        return sum(r.end - r.start for r in self.regions)

    def resident(self) -> int:
        """Pages present in the page table (VmRSS)."""
        return sum(self.pt.count_present(r.start, r.end) for r in self.regions)

    # -- regions ------------------------------------------------------------------------
    def find(self, va: int) -> Region | None:
        # (every page fault comes here: bisect by a key made in C, without building a list
        # of starts or calling back into Python)
        i = bisect.bisect_right(self.regions, va, key=_START) - 1
        if i >= 0 and va < self.regions[i].end:
            return self.regions[i]
        return None

    def add(self, region: Region) -> Region:
        assert not self.overlapping(region.start, region.end), 'overlapping region'
        bisect.insort(self.regions, region, key=lambda r: r.start)
        return region

    def overlapping(self, start: int, end: int) -> list[Region]:
        return [r for r in self.regions if r.start < end and start < r.end]

    def carve(self, start: int, end: int) -> list[Region]:
        """Split regions so that [start, end) is covered by whole regions; return those."""
        for r in list(self.overlapping(start, end)):
            if r.start < start:
                self.add_split(r, start)
        for r in list(self.overlapping(start, end)):
            if r.end > end:
                self.add_split(r, end)
        return self.overlapping(start, end)

    def add_split(self, r: Region, va: int) -> None:
        upper = r.split_at(va)
        bisect.insort(self.regions, upper, key=lambda x: x.start)

    def merge_run(self, start: int, end: int) -> Region | None:
        """The one region that [start, end) lies in, made by joining adjacent private
        anonymous regions that differ in nothing but their bounds; None if no such run
        covers the range.  Linux keeps such neighbours as one mapping (its vmas merge when
        an mprotect is undone or a fresh mapping lands beside an alike one), so a program
        may mremap across what were several regions here."""
        run = self.overlapping(start, end)
        if not run or run[0].start > start or run[-1].end < end:
            return None
        if any(lower.end != upper.start or not _alike(lower, upper) for lower, upper in zip(run, run[1:])):
            return None
        first = run[0]
        for r in run[1:]:
            self.regions.remove(r)
        first.end = run[-1].end
        first.stream_next, first.stream_window = -1, 0
        return first

    def free_gap(self, length: int, top: int = MMAP_TOP) -> int | None:
        """Highest address below `top` with `length` free bytes (mmap's placement)."""
        end = top
        for r in reversed(self.regions):
            if r.start >= end:
                continue
            if r.end <= end - length:
                return end - length
            end = min(end, r.start)
        return end - length if end - length >= ELF_MIN else None

    # -- pages ----------------------------------------------------------------------------
    # Every leaf mapping of a frame is made and unmade here, so the reverse map stays true.
    def map_page(self, va: int, frame: int, flags: int) -> None:
        self.pt.set(va, frame | flags | P)
        self.frames.rmap.add(frame, self, va)

    def map_fresh_run(self, va: int, frame: int, count: int, flags: int) -> None:
        """Map `count` just-allocated consecutive frames at va.. (within one leaf table)."""
        self.pt.map_run(va, frame, count, flags)
        self.frames.rmap.add_fresh_run(frame, count, self, va, PAGE_SIZE)

    def replace_page(self, va: int, old: int, new: int, flags: int) -> None:
        """Point va at another frame (copy-on-write, swap-in); the caller handles refcounts."""
        self.frames.rmap.remove(old, self, va)
        self.map_page(va, new, flags)

    def _split_books(self, va: int, frame: int) -> None:
        huge.split_books(self, va, frame)

    def unmap_page(self, va: int) -> int:
        """Take va's page away (its frame reference stays with the caller); returns the PTE."""
        pte = self.pt.clear(va)
        if pte & P:
            self.frames.rmap.remove(pte & ADDR_MASK, self, va)
        return pte

    def unmap_range(self, start: int, end: int) -> int:
        """Drop every page (and swap entry) in [start, end); returns frames released."""
        released = huge.unmap_huge(self, start, end) if self.pt.deposit else 0
        present: list[tuple[int, int]] = []
        for va, pte in self.pt.take_leaves(start, end):
            if pte & P and (pte & ADDR_MASK) >= self.frames.end:
                continue                    # a device's register page: nothing to release
            if pte & P:
                present.append((va, pte & ADDR_MASK))
            elif pte & SWAP and not pte & BLOCKED and self.frames.swap is not None:
                self.frames.swap.release(pte >> 12)
        self.frames.rmap.remove_range(self, present)
        self.frames.release_all([frame for _, frame in present])
        return released + len(present)

    def move_pages(self, start: int, end: int, to: int) -> None:
        """mremap: the page-table entries of [start, end) move to `to` (frames and swap
        slots stay where they are; the reverse map follows each present page)."""
        rmap = self.frames.rmap
        for va, pte in self.pt.take_leaves(start, end):
            new = va - start + to
            self.pt.set(new, pte)
            if pte & P:
                rmap.remove(pte & ADDR_MASK, self, va)
                rmap.add(pte & ADDR_MASK, self, new)

    def has_blocked(self, start: int, end: int) -> bool:
        """Is an asynchronous read (aread) on its way into a page of [start, end)?"""
        return any(not pte & P and pte & BLOCKED for _, pte in self.pt.leaf_entries(start, end))

    def discard(self, start: int, end: int) -> int:
        """madvise(MADV_DONTNEED): drop the pages of private mappings in [start, end); the
        next touch fills them again from their source (zeros, the ELF image, the file).
        Shared anonymous memory keeps its pages (they are its only copy).  Returns the
        frames freed."""
        freed = 0
        for r in self.overlapping(start, end):
            lo, hi = max(r.start, start), min(r.end, end)
            if r.shared and r.kind is Kind.ANON and r.obj is None:
                continue
            self.sync_shared(r, lo, hi)
            freed += self.unmap_range(lo, hi)
        return freed

    def remove(self, start: int, end: int) -> None:
        """munmap: forget the regions in [start, end) and their pages."""
        for r in self.carve(start, end):
            self.sync_shared(r)
            self.regions.remove(r)
            if r.file:
                r.file.drop()
        self.unmap_range(start, end)

    def sync_shared(self, r: Region, start: int = 0, end: int = 1 << 64) -> int:
        """Pass the Dirty bits of a shared file mapping on to the cache (msync, munmap,
        exit): the block is then written back like any other.  Returns pages passed."""
        if not (r.file and r.shared) or r.file.nosync:
            return 0
        passed = 0
        for va, pte in list(self.pt.present_pages(max(r.start, start), min(r.end, end))):
            if pte & D:
                self.pt.update(va, pte & ~D)
                block = r.file.blocks[(va - r.start) // PAGE_SIZE]
                if r.file.direct:
                    self.write_direct(r.file.cache, block, pte & ADDR_MASK)
                else:
                    r.file.cache.mark_dirty(block)
                passed += 1
        return passed

    def fork(self) -> 'AddressSpace':
        """A copy-on-write copy (fork): both sides map the same frames; private writable
        pages become read-only with the COW bit in both, and each frame's reference count
        says how many share it.  The caller flushes this space's TLB.  OutOfMemory (no
        frame for a page table) leaves nothing of the child behind."""
        child = AddressSpace(self.frames, self.kernel_pdpt)
        child.brk_start, child.brk = self.brk_start, self.brk
        try:
            self._share_into(child)
        except OutOfMemory:
            child.destroy()
            raise
        return child

    def _share_into(self, child: 'AddressSpace') -> None:
        for r in self.regions:
            if r.kind is Kind.DEVICE:
                continue                    # a device stays with the holder of its capability
            copy = Region(r.start, r.end, r.prot, r.kind, r.name, r.image, r.shared, r.file, r.obj, r.shm)
            if r.file:
                r.file.hold()
            child.regions.append(copy)
            self.pt.split_range(r.start, r.end)     # copy-on-write works page by page
            for va, pte in list(self.pt.leaf_entries(r.start, r.end)):
                if not pte & P:
                    if pte & SWAP and not pte & BLOCKED:   # a swap entry: share the slot
                        child.pt.set(va, pte)
                        self.frames.swap.share(pte >> 12)
                    continue                # a page still arriving by aread is the parent's only

                if pte & W and not r.shared:
                    pte = (pte & ~W) | COW
                    self.pt.update(va, pte)
                child.pt.set(va, pte)
                self.frames.rmap.add(pte & ADDR_MASK, child, va)
                self.frames.share(pte & ADDR_MASK)

    def write_direct(self, cache, block: int, frame: int) -> None:
        """A MAP_DIRECT page goes back to its block by DMA from its own frame; the write
        holds the frame (pinned, one more reference) until it completes."""
        from ..dev.blk import BlockRequest
        per = PAGE_SIZE // cache.disk.sector_size
        self.frames.pin(frame)
        self.frames.share(frame)

        def done(req):
            self.frames.unpin(frame)
            self.frames.release(frame)
        cache.queue.submit(BlockRequest(cache.disk, cache.start_lba + block * per, per,
                                        [(frame, PAGE_SIZE)], write=True, on_done=done))

    def destroy(self) -> None:
        for r in self.regions:
            self.sync_shared(r)
            if r.file:
                r.file.drop()
        self.unmap_range(0, USER_TOP)
        self.regions.clear()
        self.pt.free_tables()
