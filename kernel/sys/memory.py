"""Memory system calls: brk, mmap (anonymous, private), munmap, mprotect.

They only change regions and drop pages; the fault handler maps pages on first touch.
"""

import enum
import os

from ..errno import Errno
from ..mm.pagetable import PTE, USER_TOP
from ..fs.fserror import FsError
from ..fs.file import O_ACCMODE, O_RDONLY, O_WRONLY
from ..fs.vfs import InodeFile, InodeHold
from ..mm.fault import HOLE
from ..mm.vm import Region, Kind, Prot, MappedFile, FileImage, page_up, page_down, ELF_MIN

MS_ASYNC, MS_INVALIDATE, MS_SYNC = 1, 2, 4

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
    # ukern's own, from seed 003 (userland/include/ukern.h), above Linux's flags:
    BLOCK = 0x1000000       # return only when the whole region has been read
    NOSYNC = 0x2000000      # modified pages are never written back
    DIRECT = 0x4000000      # the mapping's own frames are the DMA targets, not the cache's


def sys_brk(k, p, addr: int) -> int:
    a = p.aspace
    if addr < a.brk_start or addr >= a.brk_start + MAX_HEAP:
        return a.brk
    old_end, new_end = page_up(a.brk), page_up(addr)
    heap = a.find(a.brk_start) if a.brk_start != old_end else None
    if new_end > old_end:
        if a.overlapping(old_end, new_end) or not a.may_grow(new_end - old_end):
            return a.brk                # (RLIMIT_AS: brk fails by not moving)
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


def sys_mmap(k, p, addr: int, length: int, prot: int, flags: int, fd: int, offset: int):
    flags = MapFlags(flags & 0x71FFFFF)
    if length == 0 or length > USER_TOP or offset % PAGE:
        return -Errno.EINVAL
    if (MapFlags.SHARED in flags) == (MapFlags.PRIVATE in flags):
        return -Errno.EINVAL
    length = page_up(length)
    mapped = copied = None
    f = p.fds.get(fd)
    if MapFlags.ANONYMOUS in flags and MapFlags.SHARED in flags:
        if length // PAGE > k.vfs.shmem.size_pages:
            return -Errno.ENOMEM            # more than memory and swap could ever hold
        mapped = k.vfs.shmem.unnamed_mapping(length)    # pages that forks share, and swap
    own_frames = hasattr(f, 'mapping') and (MapFlags.SHARED in flags or not getattr(f, 'maps_shared_only', False))
    if MapFlags.ANONYMOUS not in flags and own_frames:   # tmpfs, a host file shared: frames of its own
        mapped = _map_frames(f, offset, length, prot, MapFlags.SHARED in flags)
        if isinstance(mapped, int):
            return mapped
    elif MapFlags.ANONYMOUS not in flags and not isinstance(f, InodeFile):
        copied = yield from _copy_file(k, p, fd, offset, length, prot, MapFlags.SHARED in flags)
        if isinstance(copied, int):
            return copied
    elif MapFlags.ANONYMOUS not in flags:
        mapped = yield from _map_file(k, p, fd, offset, length, prot, MapFlags.SHARED in flags)
        if isinstance(mapped, int):
            return mapped
        mapped.direct = MapFlags.DIRECT in flags
        mapped.nosync = MapFlags.NOSYNC in flags
    a = p.aspace
    reused = []
    replaced = sum(min(r.end, addr + length) - max(r.start, addr)
                   for r in a.overlapping(addr, addr + length)) if MapFlags.FIXED in flags else 0
    if not a.may_grow(length - replaced):
        return -Errno.ENOMEM            # RLIMIT_AS
    if flags & (MapFlags.FIXED | MapFlags.FIXED_NOREPLACE):
        if not _valid_range(addr, length) or addr < ELF_MIN:
            return -Errno.EINVAL
        if a.overlapping(addr, addr + length):
            if MapFlags.FIXED_NOREPLACE in flags:
                return -Errno.EEXIST
            if mapped is not None and mapped.direct:
                reused = _keep_pages(a, addr, addr + length)    # seed 003: reuse these frames
            a.remove(addr, addr + length)
            k.flush_tlb(p)
        start = addr
    else:
        hint_ok = addr and _valid_range(page_down(addr), length) and page_down(addr) >= ELF_MIN \
            and not a.overlapping(page_down(addr), page_down(addr) + length)
        start = page_down(addr) if hint_ok else a.free_gap(length)
        if start is None:
            return -Errno.ENOMEM
    kind = Kind.FILE if mapped and MapFlags.ANONYMOUS not in flags else Kind.ANON
    region = a.add(Region(start, start + length, Prot(prot & 7), kind,
                          _file_name(f) if kind is Kind.FILE or copied else '[anon]',
                          shared=MapFlags.SHARED in flags and not copied, file=mapped, image=copied))
    if mapped:
        mapped.hold()                   # the region keeps the inode, even once unlinked
    if reused:
        error = yield from _read_into_kept_pages(k, p, region, reused)
        if error:
            return error
    if MapFlags.BLOCK in flags or MapFlags.POPULATE in flags:
        yield from k.populate(p, start, start + length)
    return start


def _file_name(f) -> str:
    """A file mapping's region is named by the file's path (the fault views show it)."""
    loc = getattr(f, 'loc', None)
    return os.fsdecode(loc.path) if loc is not None else '[file]'


def _keep_pages(a, start: int, end: int) -> list[tuple[int, int]]:
    """MAP_FIXED | MAP_DIRECT over a mapping: take its private frames out of the page
    table (keeping them) so the file can be read straight into them."""
    kept = []
    for va, pte in list(a.pt.present_pages(start, end)):
        frame = pte & 0x000F_FFFF_FFFF_F000
        if a.frames.refs(frame) == 1:
            a.unmap_page(va)
            kept.append((va, frame))
    return kept


def _read_into_kept_pages(k, p, region, kept):
    """DMA each kept frame's file block into it, then map it at its old place."""
    from ..fs.direct import transfer
    pairs, zero = [], []
    for va, frame in kept:
        block = region.file.blocks[(va - region.start) // PAGE]
        (pairs if block > 0 else zero).append((block, frame))
    for frame in [f for _, f in zero]:
        k.machine.memory.fill(frame, PAGE)
    for _, frame in kept:
        k.frames.pin(frame)
    try:
        error = yield from transfer(k, region.file.cache, pairs, False)
    finally:
        for _, frame in kept:
            k.frames.unpin(frame)
    for va, frame in kept:
        p.aspace.map_page(va, frame, region.pte_flags())
    k.flush_tlb(p)
    k.vmstat['direct_reused_pages'] += len(kept)
    return error


def _access_error(f, prot: int, shared: bool) -> int:
    """EACCES unless the open file allows the mapping asked for."""
    mode = f.flags & O_ACCMODE
    if mode == O_WRONLY or (shared and prot & Prot.WRITE and mode == O_RDONLY):
        return -Errno.EACCES
    return 0


def _map_frames(f, offset: int, length: int, prot: int, shared: bool):
    """A file whose pages are frames of its own (tmpfs; a host file, shared): a MappedFile
    over them, or a negative errno."""
    return _access_error(f, prot, shared) or f.mapping(offset // PAGE, length // PAGE)


def _copy_file(k, p, fd: int, offset: int, length: int, prot: int, shared: bool):
    """A file that is not in the buffer cache and has no frames of its own to map (a
    private mapping of a host file, a /proc file): its bytes are read now and the pages
    are filled from them at fault time like a private ELF segment, so the mapping sees the
    file as it was at mmap (a FileImage, or a negative errno).  A writable shared mapping
    would need the file's own pages: ENODEV."""
    f = p.fds.get(fd)
    if f is None:
        return -Errno.EBADF
    if not hasattr(f, 'pread') or not hasattr(f, 'stat') or getattr(f, 'positionless', False):
        return -Errno.ENODEV
    error = _access_error(f, prot, shared)
    if error or (shared and prot & Prot.WRITE):
        return error or -Errno.ENODEV
    try:
        size = (yield from f.stat()).size
        data = (yield from f.pread(max(0, min(length, size - offset)), offset)) if offset < size else b''
    except FsError as e:
        return -e.errno
    if isinstance(data, int):
        return data
    return FileImage(data, 0, len(data), offset)


def _map_file(k, p, fd: int, offset: int, length: int, prot: int, shared: bool):
    """The pages of an open file as a MappedFile (a generator), or a negative errno."""
    f = p.fds.get(fd)
    if f is None:
        return -Errno.EBADF
    if not isinstance(f, InodeFile):
        return -Errno.ENODEV
    if f.flags & O_ACCMODE == O_WRONLY or (shared and prot & Prot.WRITE and f.flags & O_ACCMODE == O_RDONLY):
        return -Errno.EACCES
    v = f.vfs
    if v.fs.block_size != PAGE:
        return -Errno.ENODEV          # a page must be one block for the cache's frame to be mappable
    return (yield from file_pages(v, f.ino, offset // PAGE, length // PAGE, shared))


def file_pages(v, ino: int, first: int, count: int, shared: bool):
    """Pages first.. first+count of a file as a MappedFile (a generator), or a negative
    errno (mmap, and mremap growing a file mapping)."""
    try:
        size = (yield from v.call(v.fs.stat(ino))).size
        in_file = max(0, min(count, (size + PAGE - 1) // PAGE - first))
        blocks = yield from v.call(v.fs.file_blocks(ino, first, in_file))
        if shared and 0 in blocks:             # holes in a shared mapping get their blocks now
            for i, b in enumerate(blocks):
                if not b:
                    page_end = min(PAGE, size - (first + i) * PAGE)
                    yield from v.call(v.fs.write(ino, (first + i) * PAGE, bytes(page_end)))
            blocks = yield from v.call(v.fs.file_blocks(ino, first, in_file))
    except FsError as e:
        return -e.errno
    blocks = [b or HOLE for b in blocks] + [0] * (count - in_file)
    return MappedFile(v.cache, blocks, holder=InodeHold(v, ino), first=first)


def sys_msync(k, p, addr: int, length: int, flags: int):
    if addr % PAGE or flags & ~7:
        return -Errno.EINVAL
    end = addr + page_up(length)
    a = p.aspace
    covered = [r for r in a.overlapping(addr, end)]
    if sum(min(r.end, end) - max(r.start, addr) for r in covered) != end - addr:
        return -Errno.ENOMEM
    for r in covered:
        a.sync_shared(r, addr, end)
    k.flush_tlb(p)
    caches = {id(r.file.cache): r.file.cache for r in covered if r.file and r.shared}
    if flags & MS_SYNC:
        try:
            for cache in caches.values():
                yield from cache.sync()
        except FsError as e:
            return -e.errno
    return 0


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
