"""A deliberately broken solution of lab mmap, for the grader's own test (tests/test_labs_new.py).

The one mistake: a private mapping maps the cache's frame with the region's own rights --
writable, without the COW bit -- so a MAP_PRIVATE write lands in the file's page.
"""

from kernel.mm.fault import Action, FaultResult, SIGBUS, HOLE
from kernel.mm.fault import _fill, _map_direct_page
from kernel.mm.frames import PAGE_SIZE
from kernel.mm.pagetable import D, ADDR_MASK


def map_file_page(aspace, frames, region, va: int, around: int = 0) -> FaultResult:
    index = (va - region.start) // PAGE_SIZE
    blockno = region.file.blocks[index] if index < len(region.file.blocks) else 0
    if blockno == HOLE:
        return _fill(aspace, frames, region, va)
    if not blockno:
        return FaultResult(Action.KILL, f'access beyond the end of the mapped file at {va:#018x}', SIGBUS)
    if region.file.direct:
        return _map_direct_page(aspace, frames, region, va, index, blockno)
    cache = region.file.cache
    buf = cache.page(blockno)
    if buf is None or not buf.valid:
        cache.prefetch([blockno])
        buf = cache.page(blockno)
        if buf is None or buf.io is None:
            return FaultResult(Action.KILL, f'read error in the mapped file at {va:#018x}', SIGBUS)
        return FaultResult(Action.WAIT, queue=buf.io.waiters)
    frame = buf.addr(blockno)
    frames.share(frame)
    aspace.map_page(va, frame, region.pte_flags())      # THE MISTAKE: private pages too
    return FaultResult(Action.FILE_READ, frame=frame)


def sync_shared(self, r, start: int = 0, end: int = 1 << 64) -> int:
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
