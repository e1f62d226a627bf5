"""What the page-table lab (labs/pgtbl) is about, done by the kernel: the tree of a process's
page tables (vmprint), the Accessed bits of a range of pages (pgaccess), and the ukern page,
a read-only page the kernel shares with each process so that getpid needs no system call.

    vmprint(pt)                      the lines of the tree, xv6's vmprint for 4-level x86-64
    pgaccess(k, p, base, npages)     a bit per page whose PTE has A set; clears those A bits
                                     and flushes the TLB
    map_ukern_page(k, aspace, pid)   a fresh frame holding pid, mapped read-only at USYSCALL
    install_ukern_page(k, aspace, pid)  the kernel's hook, called once for every new address
                                     space (the first process, fork's child, exec)

While lab pgtbl is active, kernel/labs.py rebinds vmprint, pgaccess and map_ukern_page to the
student's functions; everything calls them through this module, so the rebinding reaches
every caller.  The system calls are kernel/sys/pgtbl.py.
"""

from .frames import PAGE_SIZE
from .pagetable import P, A, ENTRIES, LEVEL_NAMES, PTE, describe
from .vm import Region, Prot, Kind

USYSCALL = 0x7FFF_0000_0000      # the ukern page (userland/include/ukern.h: UKERN_USYSCALL);
                                 # above mmap's area (MMAP_TOP) and below the stack's 8 MiB
PS = int(PTE.PS)
# The physical address in an entry: a 4 KiB table or page (bits 12-51); a 2 MiB page
# (PDE with PS: bits 21-51, bit 12 is PAT); a 1 GiB page (PDPTE with PS: bits 30-51).
PA_MASK = {4096: 0x000F_FFFF_FFFF_F000, 2 << 20: 0x000F_FFFF_FFE0_0000, 1 << 30: 0x000F_FFFF_C000_0000}


def entry_line(depth: int, i: int, entry: int, pa: int) -> str:
    """One line of the tree: ' ..' once per level (1-4), the index, the level's name, the
    raw entry, the physical address it holds and its flags (describe())."""
    return f'{" .." * (depth + 1)}{i}: {LEVEL_NAMES[depth]} {entry:#018x} pa {pa:#018x} {describe(entry)}'


def vmprint(pt) -> list[str]:
    """The page table rooted at pt.root as a tree: a header line, then each present entry
    of the PML4, depth first, each table's entries below the entry that points to it.  A
    PDPTE or PDE with PS maps a 1 GiB or 2 MiB page: a leaf, with no table below."""
    words = pt.mem.words
    lines = [f'page table {pt.root:#018x}']

    def table(addr: int, depth: int) -> None:
        base = addr >> 3
        for i in range(ENTRIES):
            entry = words[base + i]
            if not entry & P:
                continue
            large = depth in (1, 2) and entry & PS
            size = (1 << 30 if depth == 1 else 2 << 20) if large else PAGE_SIZE
            lines.append(entry_line(depth, i, entry, entry & PA_MASK[size]))
            if depth < 3 and not large:
                table(entry & PA_MASK[PAGE_SIZE], depth + 1)

    table(pt.root, 0)
    return lines


def pgaccess(k, p, base: int, npages: int) -> int:
    """Bit i set for each page base + i*4096 (i < npages) that is present with A set in p's
    page table; those A bits are cleared, and the TLB flushed so that the CPU sets them
    again at the next access (it sets A only when it walks the tables, on a TLB miss)."""
    pt = p.aspace.pt
    mask = 0
    for i in range(npages):
        va = base + i * PAGE_SIZE
        pte = pt.lookup(va)
        if pte & P and pte & A:
            mask |= 1 << i
            pt.update(va, pte & ~A)
    if mask:
        k.flush_tlb(p)
    return mask


def map_ukern_page(k, aspace, pid: int) -> None:
    """Map at USYSCALL a new frame whose first 8 bytes are pid (little-endian), readable by
    user code but neither writable nor executable.  A region ('[ukern]', PROT_READ) says so:
    a write faults as 'write to read-only' (SIGSEGV).  fork copies the parent's regions and
    pages, so the child first drops the parent's page (its frame reference) here."""
    end = USYSCALL + PAGE_SIZE
    aspace.remove(USYSCALL, end)
    frame = k.frames.alloc(zero=True)
    k.frames.memory.write_u64(frame, pid)
    region = aspace.add(Region(USYSCALL, end, Prot.READ, Kind.ANON, '[ukern]'))
    aspace.map_page(USYSCALL, frame, region.pte_flags())


def install_ukern_page(k, aspace, pid: int) -> None:
    """The kernel's hook for a new address space of process pid (kernel/proc/lifecycle.py:
    create, fork, exec_image).  Idempotent: a second call for the same space does nothing."""
    if getattr(aspace, 'ukern_page_pid', None) == pid:
        return
    map_ukern_page(k, aspace, pid)
    aspace.ukern_page_pid = pid
