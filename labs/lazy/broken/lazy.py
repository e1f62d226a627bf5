"""A deliberately broken solution of lab lazy, for the grader's own test (tests/test_labs_new.py).

The one mistake: shrinking the break only moves the [heap] region's end.  The pages above
the new end stay mapped, their frames are never freed, and when the break grows again the
program finds its old bytes there instead of zeros.
"""

from kernel.mm.fault import Action, FaultResult
from kernel.mm.fault import _fill as kernel_fill
from kernel.mm.vm import Kind, Prot, Region, page_up

MAX_HEAP = 1 << 40


def sys_brk(k, p, addr: int) -> int:
    a = p.aspace
    if addr < a.brk_start or addr >= a.brk_start + MAX_HEAP:
        return a.brk
    old_end, new_end = page_up(a.brk), page_up(addr)
    heap = a.find(a.brk_start) if a.brk_start != old_end else None
    if new_end > old_end:
        if a.overlapping(old_end, new_end) or not a.may_grow(new_end - old_end):
            return a.brk
        if heap is None:
            a.add(Region(a.brk_start, new_end, Prot.READ | Prot.WRITE, Kind.HEAP, '[heap]'))
        else:
            heap.end = new_end
    elif new_end < old_end:
        if new_end == a.brk_start:
            a.regions.remove(heap)
        else:
            heap.end = new_end             # THE MISTAKE: the pages above new_end stay mapped
    a.brk = addr
    return a.brk


def fill(aspace, frames, region, va: int, around: int = 0) -> FaultResult:
    if region.kind is not Kind.HEAP:
        return kernel_fill(aspace, frames, region, va, around)
    frame = frames.alloc(zero=True)
    aspace.map_page(va, frame, region.pte_flags())
    return FaultResult(Action.ZERO_FILL, frame=frame)
