"""Lab cow: copy-on-write fork.  `ukern lab start cow` copied this file to
labs/cow/student/cow.py; while the lab is active

    kernel.mm.vm.AddressSpace.fork  is  fork(self) below
    kernel.mm.fault._break_cow      is  break_cow(aspace, frames, region, va, pte) below

Today fork copies every present page at once (correct, but slow and greedy), and the fault
handler's copy-on-write case kills the process.  Make fork share the frames copy-on-write
and write the fault path with reference counts.  Read labs/cow/README.md first.
"""

from kernel.mm.fault import Action, FaultResult, SIGSEGV
from kernel.mm.frames import PAGE_SIZE, OutOfMemory
from kernel.mm.pagetable import ADDR_MASK, BLOCKED, P, SWAP, frame_of
from kernel.mm.vm import AddressSpace, Region


def fork(self: AddressSpace) -> AddressSpace:
    """The child's address space: the same regions, and a copy of every present page.

    Every page the child maps goes through child.map_page, which keeps the reverse map
    (frame -> every address space and address mapping it) that reclaim, swapping and the
    kernel's checker rely on: never write a leaf PTE of a present page with pt.set alone.
    """
    child = AddressSpace(self.frames, self.kernel_pdpt)
    child.brk_start, child.brk = self.brk_start, self.brk
    try:
        _copy_into(self, child)
    except OutOfMemory:                       # no frame left: fork fails with ENOMEM, and
        child.destroy()                       # nothing of the half-made child stays behind
        raise
    return child


def _copy_into(self: AddressSpace, child: AddressSpace) -> None:
    mem = self.frames.memory
    for r in self.regions:
        child.regions.append(Region(r.start, r.end, r.prot, r.kind, r.name, r.image, r.shared,
                                    r.file, r.obj, r.shm))
        if r.file:                            # the child's region holds the mapped file too
            r.file.hold()
        for va, pte in list(self.pt.leaf_entries(r.start, r.end)):
            if not pte & P:
                if pte & SWAP and not pte & BLOCKED:   # swapped out: share the swap slot
                    child.pt.set(va, pte)              # (not a frame: no reverse-map entry)
                    self.frames.swap.share(pte >> 12)
                continue                      # a page still arriving by aread stays the parent's
            if r.shared:                      # MAP_SHARED: both see the same frame
                child.map_page(va, frame_of(pte), pte & ~ADDR_MASK)
                self.frames.share(frame_of(pte))
                continue
            # TODO: instead of copying, share the frame (child.map_page, self.frames.share)
            # and, if the page is writable, make it read-only with the COW bit in *both*
            # page tables (self.pt.update(va, new_pte)).  The kernel flushes the parent's TLB.
            new = self.frames.alloc(zero=False)
            mem.copy(new, frame_of(pte), PAGE_SIZE)
            child.map_page(va, new, pte & ~ADDR_MASK)


def break_cow(aspace, frames, region, va, pte) -> FaultResult:
    """A write to a present page whose PTE has the COW bit (fault.handle has checked that
    the region is writable).  Return FaultResult(Action.COW_COPY) after giving this address
    space its own copy, or FaultResult(Action.COW_REUSE) when it was the last sharer."""
    # TODO: if nobody else holds the frame (frames.refs), map it writable again
    # (region.pte_flags() gives the rights); otherwise copy it into a new frame, map that
    # in the old one's place with aspace.replace_page (it moves the reverse-map entry), and
    # drop this address space's reference to the old one (frames.release).
    return FaultResult(Action.KILL, f'copy-on-write write at {va:#018x}: not written yet (labs/cow)',
                       SIGSEGV)
