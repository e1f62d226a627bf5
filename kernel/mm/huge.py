"""2 MiB pages: one page-directory entry (PS) for a whole aligned block of anonymous memory.

A first touch in an untouched, 2 MiB-aligned block that lies wholly inside a large
anonymous mapping maps the block with one PDE to a 2 MiB-aligned run of 512 zeroed frames
(Linux's transparent huge pages do the same).  The kernel's books then hold one entry
for the whole page, not 512: the reverse map and reclaim's policy know only its first
frame ("the head"); each of the 512 frames carries one reference, as if it were mapped
once, so that the frame allocator frees the run in one step.

Everything that needs 4 KiB granularity splits the page first (PageTable._split: the
deposited leaf table is filled with 512 ordinary entries, then split_books below gives
each frame its own reverse-map entry and reclaim tracks the other 511): reclaim choosing
or aging it, fork, mprotect/munmap/madvise/mremap of part of it, the labs' interfaces.
Unmapping a whole 2 MiB page (munmap, exit) frees it without splitting.

Huge pages are made only while memory is plentiful (the fault handler's `around` budget),
never while a course lab is in progress (labs walk 4-level tables page by page), and not
at all with `ukern run --no-huge-pages`.
"""

from .frames import FrameAllocator, PAGE_SIZE
from .pagetable import HUGE_SIZE, HUGE_PAGES, HUGE_ADDR_MASK


def map_huge_page(aspace, frames: FrameAllocator, region, va: int) -> int | None:
    """Map va's 2 MiB block with one PDE to fresh zeroed frames; returns the head frame,
    or None when no aligned run is free (the caller maps 4 KiB pages instead).  va's leaf
    table exists and is empty (the fault handler checked): it becomes the deposit for a
    later split."""
    frame = frames.alloc_aligned_run(HUGE_PAGES)
    if frame is None:
        return None
    start = va & ~(HUGE_SIZE - 1)
    aspace.pt.map_huge(start, frame, region.pte_flags())
    frames.rmap.add(frame, aspace, start)
    return frame


def split_books(aspace, va: int, frame: int) -> None:
    """The page table's on_split: the 2 MiB page at va (frames from `frame`) is now 512
    ordinary entries; each frame gets its own reverse-map entry and reclaim learns of the
    511 it did not know."""
    frames = aspace.frames
    frames.rmap.remove(frame, aspace, va)
    frames.rmap.add_fresh_run(frame, HUGE_PAGES, aspace, va, PAGE_SIZE)
    if frames.on_split is not None:
        frames.on_split(frame, HUGE_PAGES)


def unmap_huge(aspace, start: int, end: int) -> int:
    """Free every 2 MiB page wholly inside [start, end) in one step each (munmap, exit);
    those only partly inside are split for the 4 KiB path.  Returns frames released."""
    frames = aspace.frames
    taken = aspace.pt.take_huge(start, end)
    for va, pde in taken:
        frames.rmap.remove(pde & HUGE_ADDR_MASK, aspace, va)
        frames.release_run(pde & HUGE_ADDR_MASK, HUGE_PAGES)
    return len(taken) * HUGE_PAGES
