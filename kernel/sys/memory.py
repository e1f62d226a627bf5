"""Memory system calls: brk, mmap (anonymous, private), munmap, mprotect.

They only change regions and drop pages; the fault handler maps pages on first touch.
"""

import enum

from ..errno import Errno
from ..mm.pagetable import PTE, USER_TOP
from ..mm.vm import Region, Kind, Prot, page_up, page_down, ELF_MIN

PAGE = 4096
MAX_HEAP = 1 << 40


class MapFlags(enum.IntFlag):
    SHARED = 0x01
    PRIVATE = 0x02
    FIXED = 0x10
    ANONYMOUS = 0x20
    NORESERVE = 0x4000
    POPULATE = 0x8000
    FIXED_NOREPLACE = 0x100000


def sys_brk(k, p, addr: int) -> int:
    a = p.aspace
    if addr < a.brk_start or addr >= a.brk_start + MAX_HEAP:
        return a.brk
    old_end, new_end = page_up(a.brk), page_up(addr)
    heap = a.find(a.brk_start) if a.brk_start != old_end else None
    if new_end > old_end:
        if a.overlapping(old_end, new_end):
            return a.brk
        if heap is None:
            a.add(Region(a.brk_start, new_end, Prot.READ | Prot.WRITE, Kind.HEAP, '[heap]'))
        else:
            heap.end = new_end
    elif new_end < old_end:
        a.remove(new_end, old_end)
        k.flush_tlb(p)
    a.brk = addr
    return a.brk


def _valid_range(addr: int, length: int) -> bool:
    return addr % PAGE == 0 and 0 < length and addr + length <= USER_TOP


def sys_mmap(k, p, addr: int, length: int, prot: int, flags: int, fd: int, offset: int) -> int:
    flags = MapFlags(flags & 0x1FFFFF)
    if length == 0 or length > USER_TOP or offset % PAGE:
        return -Errno.EINVAL
    if MapFlags.ANONYMOUS not in flags:
        return -Errno.ENODEV if p.fds.get(fd) is not None else -Errno.EBADF
    if (MapFlags.SHARED in flags) == (MapFlags.PRIVATE in flags):
        return -Errno.EINVAL
    length = page_up(length)
    a = p.aspace
    if flags & (MapFlags.FIXED | MapFlags.FIXED_NOREPLACE):
        if not _valid_range(addr, length) or addr < ELF_MIN:
            return -Errno.EINVAL
        if a.overlapping(addr, addr + length):
            if MapFlags.FIXED_NOREPLACE in flags:
                return -Errno.EEXIST
            a.remove(addr, addr + length)
            k.flush_tlb(p)
        start = addr
    else:
        hint_ok = addr and _valid_range(page_down(addr), length) and page_down(addr) >= ELF_MIN \
            and not a.overlapping(page_down(addr), page_down(addr) + length)
        start = page_down(addr) if hint_ok else a.free_gap(length)
        if start is None:
            return -Errno.ENOMEM
    a.add(Region(start, start + length, Prot(prot & 7), Kind.ANON, '[anon]',
                 shared=MapFlags.SHARED in flags))
    return start


def sys_munmap(k, p, addr: int, length: int) -> int:
    if not _valid_range(addr, page_up(length)):
        return -Errno.EINVAL
    p.aspace.remove(addr, addr + page_up(length))
    k.flush_tlb(p)
    return 0


def sys_mprotect(k, p, addr: int, length: int, prot: int) -> int:
    length = page_up(length)
    if addr % PAGE or addr + length > USER_TOP or prot & ~7:
        return -Errno.EINVAL
    a = p.aspace
    covered = a.carve(addr, addr + length)
    if sum(r.end - r.start for r in covered) != length:
        return -Errno.ENOMEM
    for r in covered:
        r.prot = Prot(prot)
        flags = r.pte_flags()
        for va, pte in list(a.pt.present_pages(r.start, r.end)):
            keep = pte & (0x000F_FFFF_FFFF_F000 | PTE.A | PTE.D | PTE.COW)
            writable = flags if not pte & PTE.COW else flags & ~PTE.W
            # PROT_NONE keeps the page present but supervisor-only, so the frame stays tracked.
            a.pt.set(va, keep | PTE.P | (writable if prot else PTE.NX))
    k.flush_tlb(p)
    return 0
