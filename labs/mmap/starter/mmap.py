"""Lab mmap: mapped files on the buffer cache.  `ukern lab start mmap` copied this file to
labs/mmap/student/mmap.py; while the lab is active

    kernel.mm.fault._map_file_page            is  map_file_page(aspace, frames, region, va, around)
    kernel.mm.vm.AddressSpace.sync_shared     is  sync_shared(self, r, start, end)

Today a touch of a mapped file gives the process a private copy of the page, whatever
the mapping: MAP_PRIVATE works, but a MAP_SHARED mapping is not the file (read() never
sees its writes, two processes never see each other's) and every mapper pays a frame per
page.  Map the buffer cache's own frame instead, and pass a shared mapping's changes on
to the cache.  Read labs/mmap/README.md first.
"""

from kernel.mm.fault import Action, FaultResult, SIGBUS, HOLE
from kernel.mm.fault import _fill, _map_direct_page
from kernel.mm.frames import PAGE_SIZE
from kernel.mm.pagetable import W, COW, D, ADDR_MASK  # noqa: F401  (you will want them)


def map_file_page(aspace, frames, region, va: int, around: int = 0) -> FaultResult:
    """A page of a file mapping (region.file, a kernel.mm.vm.MappedFile) is not present."""
    index = (va - region.start) // PAGE_SIZE
    blockno = region.file.blocks[index] if index < len(region.file.blocks) else 0
    if blockno == HOLE:                        # a hole in the file (private mappings only)
        return _fill(aspace, frames, region, va)
    if not blockno:                            # past the end of the file
        return FaultResult(Action.KILL, f'access beyond the end of the mapped file at {va:#018x}', SIGBUS)
    if region.file.direct:                     # MAP_DIRECT (ukern's own): not this lab's business
        return _map_direct_page(aspace, frames, region, va, index, blockno)
    cache = region.file.cache
    buf = cache.page(blockno)
    if buf is None or not buf.valid:           # not in the cache yet: read it, and wait
        cache.prefetch([blockno])
        buf = cache.page(blockno)
        if buf is None or buf.io is None:
            return FaultResult(Action.KILL, f'read error in the mapped file at {va:#018x}', SIGBUS)
        return FaultResult(Action.WAIT, queue=buf.io.waiters)   # the fault is retried after
    # TODO: map the cache's own frame, buf.addr(blockno), instead of a copy.  The mapping
    # holds a reference to it (frames.share).  A shared mapping may write it (the region's
    # rights); a private one maps it read-only with the COW bit when the region is writable,
    # so that the first write copies it (the kernel's copy-on-write path does that).
    frame = frames.alloc(zero=False)
    frames.memory.copy(frame, buf.addr(blockno), PAGE_SIZE)
    aspace.map_page(va, frame, region.pte_flags())
    return FaultResult(Action.FILE_READ, frame=frame)


def sync_shared(self, r, start: int = 0, end: int = 1 << 64) -> int:
    """Pass the Dirty bits of a shared file mapping's pages in [start, end) on to the
    buffer cache, which writes the blocks back (msync, munmap, exit call this).  Returns
    how many pages were passed on."""
    if not (r.file and r.shared) or r.file.nosync:
        return 0
    # TODO: for each present page of r within [start, end) (self.pt.present_pages) whose PTE
    # has the Dirty bit: clear the bit (self.pt.update) and mark the page's block dirty in
    # the cache (r.file.cache.mark_dirty).  A MAP_DIRECT page (r.file.direct) is written
    # from its own frame instead: self.write_direct(r.file.cache, block, frame).
    return 0
