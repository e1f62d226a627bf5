"""Lab pgtbl: page tables.  `ukern lab start pgtbl` copied this file to
labs/pgtbl/student/pgtbl.py; while the lab is active

    kernel.mm.pgtbl_report.vmprint         is  vmprint(pt) below
    kernel.mm.pgtbl_report.map_ukern_page  is  map_ukern_page(k, aspace, pid) below
    kernel.mm.pgtbl_report.pgaccess        is  pgaccess(k, p, base, npages) below

The system calls around them are the kernel's (kernel/sys/pgtbl.py): ukern_vmprint() prints
the lines vmprint returns; ukern_pgaccess(base, npages, &mask) checks its arguments, calls
pgaccess and copies the mask out.  The kernel calls map_ukern_page once for every new
address space: the first process's, fork's child's, and exec's.  Read labs/pgtbl/README.md
first.
"""

from kernel.mm.frames import PAGE_SIZE
from kernel.mm.pagetable import (P, W, U, A, D, NX, PTE, ADDR_MASK, ENTRIES, LEVEL_NAMES,
                                 describe, frame_of, index)
from kernel.mm.vm import Region, Prot, Kind

USYSCALL = 0x7FFF_0000_0000        # userland/include/ukern.h: UKERN_USYSCALL


def vmprint(pt) -> list[str]:
    """The page table rooted at pt.root (a PageTable: pt.mem is physical memory) as the
    lines of a tree: 'page table 0x...' and then, depth first, one line per present entry,
    in this exact format (the README shows a whole tree):

         ..255: PML4E 0x0000000000105027 pa 0x0000000000105000 P|W|U|A
         .. ..511: PDPTE ...
         .. .. ..511: PDE ...
         .. .. .. ..510: PTE 0x8000000000104067 pa 0x0000000000104000 P|W|U|A|D|NX
    """
    lines = []
    # TODO: start with f'page table {pt.root:#018x}'.  Then read the PML4's 512 entries
    # (pt.mem.read_u64(table + 8 * i), or pt.mem.words[(table >> 3) + i]); for each present
    # one (P), add the line -- ' ..' once per level, the index, LEVEL_NAMES[level], the
    # entry, 'pa' and the address it holds (frame_of), describe(entry) -- and, unless it is
    # a PTE, do the same for the table it points to, one level deeper.
    return lines


def map_ukern_page(k, aspace, pid: int) -> None:
    """Give address space `aspace` (process `pid`'s) its ukern page: a new frame whose first
    8 bytes are pid, mapped at USYSCALL, readable by user code, not writable, not executable.
    After a fork, `aspace` already holds a copy of the parent's (regions and pages)."""
    # TODO:
    #  * drop what is at USYSCALL already: aspace.remove(start, end) forgets the regions
    #    there and releases their pages' frames (a fork's child has the parent's);
    #  * a zeroed frame: k.frames.alloc(zero=True); write pid into it:
    #    k.frames.memory.write_u64(frame, pid);
    #  * a region that says what the page is: aspace.add(Region(USYSCALL, USYSCALL +
    #    PAGE_SIZE, Prot.READ, Kind.ANON, '[ukern]')) -- then a write faults as a write to
    #    read-only (SIGSEGV) rather than as a write to nothing;
    #  * the mapping: aspace.map_page(USYSCALL, frame, flags) (it adds P, and keeps the
    #    frame's reverse map); region.pte_flags() gives U|NX for a read-only region.
    pass


def pgaccess(k, p, base: int, npages: int) -> int:
    """The mask of pages base + i*PAGE_SIZE (0 <= i < npages <= 64) of process p that were
    accessed since the last call: bit i set when page i's PTE is present with A.  Clear the
    A bits you report, so that the next call sees only newer accesses."""
    # TODO: p.aspace.pt.lookup(va) gives the leaf PTE (0 if a level is missing),
    # p.aspace.pt.update(va, pte) rewrites it.  Clearing A in memory is not enough: the CPU
    # sets A only when it walks the tables, and a page it has in its TLB is not walked
    # again -- flush the TLB (k.flush_tlb(p)) after clearing.
    return 0
