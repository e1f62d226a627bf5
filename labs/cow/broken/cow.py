"""A copy-on-write lab solution with one known mistake, for the grader's own test
(tests/test_labs.py): fork maps the shared frames into the child with `child.pt.set`, the
page table alone, so the reverse map never learns that the child maps them (and break_cow
maps its copy with `pt.map`, the same way).  Every test of the lab passes; under memory
pressure reclaim unmaps a shared frame from the parent only (the reverse map names no
other mapper), frees it while the child still maps it, and the kernel breaks: the
regression part's swapping test fails.  The fix: AddressSpace.map_page / replace_page.
"""

from kernel.mm.fault import Action, FaultResult
from kernel.mm.frames import PAGE_SIZE
from kernel.mm.pagetable import BLOCKED, COW, P, SWAP, W, frame_of
from kernel.mm.vm import AddressSpace, Region


def fork(self: AddressSpace) -> AddressSpace:
    child = AddressSpace(self.frames, self.kernel_pdpt)
    child.brk_start, child.brk = self.brk_start, self.brk
    for r in self.regions:
        child.regions.append(Region(r.start, r.end, r.prot, r.kind, r.name, r.image, r.shared,
                                    r.file, r.obj, r.shm))
        if r.file:
            r.file.hold()
        for va, pte in list(self.pt.leaf_entries(r.start, r.end)):
            if not pte & P:
                if pte & SWAP and not pte & BLOCKED:
                    child.pt.set(va, pte)
                    self.frames.swap.share(pte >> 12)
                continue
            if pte & W and not r.shared:
                pte = (pte & ~W) | COW
                self.pt.update(va, pte)
            child.pt.set(va, pte)                  # the mistake: no reverse-map entry
            self.frames.share(frame_of(pte))
    return child


def break_cow(aspace, frames, region, va, pte) -> FaultResult:
    old = frame_of(pte)
    flags = region.pte_flags()
    if frames.refs(old) == 1:
        aspace.pt.map(va, old, flags)
        return FaultResult(Action.COW_REUSE)
    new = frames.alloc(zero=False)
    frames.memory.copy(new, old, PAGE_SIZE)
    aspace.pt.map(va, new, flags)                  # the same mistake: the reverse map still
    frames.release(old)                            # names this space as old's mapper
    return FaultResult(Action.COW_COPY, frame=new)
