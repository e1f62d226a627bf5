"""ukern's page-table calls for the page-table lab (labs/pgtbl):

    vmprint()                        print the calling process's page tables as a tree on
                                     the console (kernel/mm/pgtbl_report.py: vmprint)
    pgaccess(base, npages, *mask)    *mask = a bit per page of [base, base + npages pages)
                                     that was accessed since the last look; those pages'
                                     Accessed bits are cleared.  npages <= 64, base page-aligned.

They are numbered UKERN_BASE + 6 and + 7 (userland/include/ukern.h: SYS_ukern_vmprint,
SYS_ukern_pgaccess).  The handlers check the arguments and copy out; the page-table work is
pgtbl_report's, called through the module so that the lab's rebinding reaches it.

The third part of the lab, the ukern page (a read-only page at USYSCALL holding the pid), is
mapped by pgtbl_report.install_ukern_page for every new address space: kernel/proc/lifecycle.py
calls it at process creation, fork and exec.
"""

from ..errno import Errno
from ..mm import pgtbl_report
from ..mm.frames import PAGE_SIZE
from ..mm.pagetable import USER_TOP
from .args import s32

PGACCESS_MAX = 64                  # one bit per page in a uint64_t


def sys_vmprint(k, p) -> int:
    lines = pgtbl_report.vmprint(p.aspace.pt)
    if lines:
        k.console.write(('\n'.join(lines) + '\n').encode())
    return 0


def sys_pgaccess(k, p, base, npages, mask_addr) -> int:
    npages = s32(npages)
    if base & (PAGE_SIZE - 1) or not 0 <= npages <= PGACCESS_MAX or \
            base + npages * PAGE_SIZE > USER_TOP:
        return -Errno.EINVAL
    if not mask_addr:
        return -Errno.EFAULT
    mem = k.user(p)
    mem.write_u64(mask_addr, 0)        # a bad pointer fails (EFAULT) before any A bit is lost
    mem.write_u64(mask_addr, pgtbl_report.pgaccess(k, p, base, npages))
    return 0
