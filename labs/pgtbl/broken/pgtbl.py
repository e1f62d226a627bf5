"""A page-table lab solution with one known mistake, for the grader's own test
(tests/test_labs.py): pgaccess clears the Accessed bits in memory but does not flush the
TLB, so the CPU, still holding the translations, never walks the tables again and never
sets A again: a page the process keeps touching looks unused at the next pgaccess.
vmprint and the ukern page are ukern's own (taken before the lab rebound them).
"""

from kernel.mm import pgtbl_report
from kernel.mm.frames import PAGE_SIZE
from kernel.mm.pagetable import A, P

_vmprint = pgtbl_report.vmprint
_map_ukern_page = pgtbl_report.map_ukern_page


def vmprint(pt) -> list[str]:
    return _vmprint(pt)


def map_ukern_page(k, aspace, pid: int) -> None:
    return _map_ukern_page(k, aspace, pid)


def pgaccess(k, p, base: int, npages: int) -> int:
    pt = p.aspace.pt
    mask = 0
    for i in range(npages):
        va = base + i * PAGE_SIZE
        pte = pt.lookup(va)
        if pte & P and pte & A:
            mask |= 1 << i
            pt.update(va, pte & ~A)
    return mask                                # the mistake: no k.flush_tlb(p)
