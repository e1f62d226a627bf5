"""mremap and madvise: changing a mapping's size or place, and advice about its pages.

mremap never copies a page.  Shrinking unmaps the tail; growing extends the region when
the addresses after it are free; otherwise (with MREMAP_MAYMOVE) the region moves: its
page-table entries are carried to the new addresses (AddressSpace.move_pages), so the
same frames, swap slots and copy-on-write sharing serve the new place and the reverse
map follows.  musl's realloc of a large block is an mremap.

madvise honours MADV_DONTNEED (and MADV_FREE, treated the same way): the pages of
private mappings are dropped and their frames freed; anonymous memory reads back as
zeros afterwards.  The other advice is accepted and changes nothing.
"""

import enum

from ..errno import Errno
from ..mm.pagetable import USER_TOP
from ..mm.vm import Region, page_up, ELF_MIN
from .memory import PAGE, file_pages


class Mremap(enum.IntFlag):
    MAYMOVE = 1
    FIXED = 2
    DONTUNMAP = 4


class Madv(enum.IntEnum):
    """madvise advice (include/uapi/asm-generic/mman-common.h)."""
    NORMAL = 0
    RANDOM = 1
    SEQUENTIAL = 2
    WILLNEED = 3
    DONTNEED = 4
    FREE = 8
    DONTFORK = 10
    DOFORK = 11
    MERGEABLE = 12
    UNMERGEABLE = 13
    HUGEPAGE = 14
    NOHUGEPAGE = 15
    DONTDUMP = 16
    DODUMP = 17
    WIPEONFORK = 18
    KEEPONFORK = 19
    COLD = 20
    PAGEOUT = 21
    POPULATE_READ = 22           # (accepted: the pages come at their first touch)
    POPULATE_WRITE = 23
    COLLAPSE = 25                # (accepted: 2 MiB pages come at a first touch, mm/huge.py)


DISCARDING = (Madv.DONTNEED, Madv.FREE)


# -- mremap -----------------------------------------------------------------------------------
def sys_mremap(k, p, old_addr: int, old_size: int, new_size: int, flags: int, new_addr: int):
    if old_addr % PAGE or flags & ~(Mremap.MAYMOVE | Mremap.FIXED) or \
            (flags & Mremap.FIXED and not flags & Mremap.MAYMOVE):
        return -Errno.EINVAL             # (MREMAP_DONTUNMAP is not offered)
    old_size, new_size = page_up(old_size), page_up(new_size)
    if not new_size or not old_size or old_addr + old_size > USER_TOP or new_size > USER_TOP:
        return -Errno.EINVAL             # (old_size 0, duplicating a shared mapping, is not offered)
    a = p.aspace
    region = a.find(old_addr)
    if region is not None and old_addr + old_size > region.end:
        region = a.merge_run(old_addr, old_addr + old_size)
    if region is None:
        return -Errno.EFAULT             # the old range must lie in one mapping
    if flags & Mremap.FIXED:
        return (yield from _move_fixed(k, p, region, old_addr, old_size, new_size, new_addr))
    if new_size <= old_size:
        if new_size < old_size:
            a.remove(old_addr + new_size, old_addr + old_size)
            k.flush_tlb(p)
        return old_addr
    if not a.may_grow(new_size - old_size):
        return -Errno.ENOMEM             # RLIMIT_AS
    old_end, new_end = old_addr + old_size, old_addr + new_size
    if old_end == region.end and new_end <= USER_TOP and not a.overlapping(old_end, new_end):
        error = yield from _extend(region, new_end)
        return error or old_addr
    if not flags & Mremap.MAYMOVE:
        return -Errno.ENOMEM
    to = a.free_gap(new_size)
    if to is None:
        return -Errno.ENOMEM
    return (yield from _move(k, p, old_addr, old_size, new_size, to))


def _move_fixed(k, p, region, old_addr: int, old_size: int, new_size: int, new_addr: int):
    a = p.aspace
    if new_addr % PAGE or new_addr < ELF_MIN or new_addr + new_size > USER_TOP:
        return -Errno.EINVAL
    if new_addr < old_addr + old_size and old_addr < new_addr + new_size:
        return -Errno.EINVAL             # the two ranges may not overlap
    replaced = sum(min(r.end, new_addr + new_size) - max(r.start, new_addr)
                   for r in a.overlapping(new_addr, new_addr + new_size))
    if not a.may_grow(max(0, new_size - old_size) - replaced):
        return -Errno.ENOMEM
    if a.has_blocked(old_addr, old_addr + old_size):
        return -Errno.EBUSY
    a.remove(new_addr, new_addr + new_size)
    if new_size < old_size:
        a.remove(old_addr + new_size, old_addr + old_size)
        old_size = new_size
    return (yield from _move(k, p, old_addr, old_size, new_size, new_addr))


def _move(k, p, old_addr: int, old_size: int, new_size: int, to: int):
    """Carry [old_addr, old_addr+old_size) to `to`, then grow it to new_size there."""
    a = p.aspace
    if a.has_blocked(old_addr, old_addr + old_size):
        return -Errno.EBUSY              # an aread is filling these pages by their addresses
    [piece] = a.carve(old_addr, old_addr + old_size)
    a.sync_shared(piece)
    a.regions.remove(piece)
    a.move_pages(old_addr, old_addr + old_size, to)
    moved = Region(to, to + old_size, piece.prot, piece.kind, piece.name, piece.image, piece.shared,
                   piece.file, piece.obj, piece.shm)
    a.add(moved)
    k.flush_tlb(p)
    if new_size > old_size:
        error = yield from _extend(moved, to + new_size)
        if error:
            return error
    return to


def _extend(region: Region, new_end: int):
    """Grow a region in place; a file mapping maps the file's next pages."""
    if region.shm is not None or region.obj is not None:
        return -Errno.EINVAL             # a segment or an object has no more pages to map
    if region.file is not None and new_end > region.end:
        f = region.file
        count = (new_end - region.start) // PAGE - len(f.blocks)
        if hasattr(f.cache, 'page_blocks'):   # a memory file (tmpfs, shared anonymous): pages
            f.blocks.extend(f.cache.page_blocks(f.first + len(f.blocks), count))   # past its end SIGBUS
        elif f.holder is None or f.direct:
            return -Errno.EINVAL         # a mapping ukern cannot extend from its file
        else:
            more = yield from file_pages(f.holder.vfs, f.holder.ino, f.first + len(f.blocks), count,
                                         region.shared)
            if isinstance(more, int):
                return more
            f.blocks.extend(more.blocks)
    region.end = new_end
    return 0


# -- madvise ----------------------------------------------------------------------------------
def sys_madvise(k, p, addr: int, length: int, advice: int) -> int:
    if addr % PAGE or advice not in Madv._value2member_map_:
        return -Errno.EINVAL
    end = addr + page_up(length)
    if end < addr or end > USER_TOP:
        return -Errno.EINVAL
    if end == addr:
        return 0
    a = p.aspace
    covered = sum(min(r.end, end) - max(r.start, addr) for r in a.overlapping(addr, end))
    if advice in DISCARDING:
        freed = a.discard(addr, end)
        k.vmstat['madvise_dontneed_pages'] += freed
        k.flush_tlb(p)
    return 0 if covered == end - addr else -Errno.ENOMEM    # a hole in the range: ENOMEM
