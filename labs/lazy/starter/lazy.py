"""Lab lazy: lazy allocation of the heap.  `ukern lab start lazy` copied this file to
labs/lazy/student/lazy.py; while the lab is active

    system call 12 (brk)    is  sys_brk(k, p, addr) below
    kernel.mm.fault._fill   is  fill(aspace, frames, region, va, around) below

Today brk is eager: growing the break allocates, zeroes and maps every new page at once,
so a program that asks for a big heap and touches little of it pays for all of it (and a
break bigger than memory fails).  Make brk only move the [heap] region's end, and let the
fault handler give a heap page its frame when the program first touches it.  Read
labs/lazy/README.md first.
"""

from kernel.errno import Errno  # noqa: F401  (handy for your own checks)
from kernel.mm.fault import Action, FaultResult, SIGSEGV
from kernel.mm.fault import _fill as kernel_fill        # the kernel's own, for the other regions
from kernel.mm.frames import OutOfMemory
from kernel.mm.vm import Kind, Prot, Region, page_up

PAGE = 4096
MAX_HEAP = 1 << 40            # the break never goes further than this above its start


def sys_brk(k, p, addr: int) -> int:
    """brk(addr): move the program break to addr and return the new break; on any failure
    return the old one unchanged (Linux's brk never returns an errno)."""
    a = p.aspace
    if addr < a.brk_start or addr >= a.brk_start + MAX_HEAP:
        return a.brk                       # brk(0) and nonsense: just report the break
    old_end, new_end = page_up(a.brk), page_up(addr)
    heap = a.find(a.brk_start) if a.brk_start != old_end else None
    if new_end > old_end:
        if a.overlapping(old_end, new_end) or not a.may_grow(new_end - old_end):
            return a.brk                   # another mapping is in the way, or RLIMIT_AS
        if heap is None:
            heap = a.add(Region(a.brk_start, new_end, Prot.READ | Prot.WRITE, Kind.HEAP, '[heap]'))
        else:
            heap.end = new_end
        # TODO: do not map anything here; the fault handler (fill, below) does it on touch.
        try:
            for va in range(old_end, new_end, PAGE):
                frame = k.frames.alloc(zero=True)
                a.map_page(va, frame, heap.pte_flags())    # (map_page keeps the reverse map)
                k.reclaim.track(frame)                     # reclaim may page it out later
        except OutOfMemory:
            a.remove(old_end, new_end)     # give back what was mapped, and the region's growth
            return a.brk
    elif new_end < old_end:
        # TODO: shrinking.  The pages between the new and the old end must go: their
        # mappings, their frames, and the CPU's cached translations of them.
        pass
    a.brk = addr
    return a.brk


def fill(aspace, frames, region, va: int, around: int = 0) -> FaultResult:
    """A page not present in an anonymous region was touched (fault.handle has checked the
    region's rights).  Map it and return FaultResult(Action.ZERO_FILL, frame=THE_FRAME)."""
    if region.kind is not Kind.HEAP:
        return kernel_fill(aspace, frames, region, va, around)   # stack, data, anonymous mmap
    # TODO: a heap page is touched for the first time: give it a zeroed frame, mapped with
    # the region's rights.  Tell the kernel which frame it is (FaultResult's `frame`), so
    # that reclaim knows the page.
    return FaultResult(Action.KILL, f'heap page {va:#018x} not present: not written yet (labs/lazy)',
                       SIGSEGV)
