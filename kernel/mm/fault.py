"""The page-fault handler: decide what a #PF means and fix it, or say why it cannot be.

Causes (from the error code and the PTE): a page not yet present in a valid region
(demand-zero, or filled from the ELF image), a write to a copy-on-write page (copy it,
or take it back when this process is the last sharer), stack growth below the stack, and
the protection errors that kill the process (unmapped address, write to read-only,
execute of no-exec, user access to a supervisor page).

Fault-around: a fault that continues a sequential stream (it hits the page just after
what the region's previous fault mapped) maps a window of pages at once, 16 on the
stream's second fault and twice as many each time after, up to a leaf table (512 pages),
never past the region's end or over an entry already there.  Anonymous and program-image
pages come from one run of zeroed frames; a mapped file's neighbours are mapped when the
buffer cache already holds them (as Linux's fault_around_bytes does).  The caller says
how many extra pages memory allows (none when free memory is short), so reclaim and swap
see a demand-paged system under pressure.

2 MiB pages: while memory allows, a first touch in an untouched, aligned 2 MiB block of a
private anonymous mapping maps the block as one page (mm/huge.py); without them (the
kill switch, a lab in progress, no aligned run free) the block is 512 4 KiB entries.
"""

import dataclasses
import enum
from dataclasses import dataclass

from emu.cpu import PF_FETCH, PF_WRITE
from .frames import FrameAllocator, PAGE_SIZE, OutOfMemory
from .huge import map_huge_page
from .pagetable import P, W, A, D, COW, SWAP, BLOCKED, frame_of, USER_TOP
from .vm import AddressSpace, Region, Kind, Prot, page_down, STACK_GAP, STACK_TOP

STACK_LIMIT_MAX = 1 << 32        # an unlimited stack still stops 4 GiB below its top


class Action(enum.Enum):
    ZERO_FILL = 'zero-fill'
    FILE_READ = 'file read'
    COW_COPY = 'copy-on-write copy'
    COW_REUSE = 'copy-on-write, last sharer keeps the page'
    STACK_GROW = 'stack growth'
    SPURIOUS = 'already mapped (TLB refresh)'
    SWAP_IN = 'swap-in'
    WAIT = 'wait for the page to arrive'
    NO_MEMORY = 'no free frame'
    OBJECT = 'object page from the object cache'
    SHARED_PAGE = 'System V shared memory page'
    KILL = 'kill'
    EFAULT = 'the system call fails with EFAULT'   # the kernel's own copy hit a bad address


@dataclass
class FaultResult:
    """What handling a page fault decided: resume, wait, or kill, and why."""
    action: Action
    reason: str = ''          # for KILL: 'write to read-only 0x...'
    signal: int = 0
    queue: object = None      # for WAIT: what the process sleeps on (a read's completion)
    frame: int = 0            # the frame a ZERO_FILL, FILE_READ, COW_COPY or SWAP_IN mapped
    around: tuple = ()        # the frames fault-around mapped besides `frame`
    huge: bool = False        # `frame` starts a 2 MiB page mapped by this fault (mm/huge.py)


SIGSEGV = 11
SIGBUS = 7


def access_word(error: int) -> str:
    if error & PF_FETCH:
        return 'execute'
    return 'write' if error & PF_WRITE else 'read'


def _kill(what: str, addr: int) -> FaultResult:
    return FaultResult(Action.KILL, f'{what} {addr:#018x}', SIGSEGV)


_EXEC, _WRITE = Prot.EXEC.value, Prot.WRITE.value
FAULT_AROUND_FIRST = 16      # pages the second fault of a sequential stream maps
FAULT_AROUND_MAX = 512       # one leaf table: a window never crosses a 2 MiB boundary
FILE_AROUND_PAGES = 16       # a mapped file's window: the aligned 64 KiB around the fault
LARGE_BLOCK = 2 << 20        # what a first touch in a large anonymous mapping maps: 2 MiB,
LARGE_PAGES = LARGE_BLOCK // PAGE_SIZE   # the size of an x86-64 large page


def handle(aspace: AddressSpace, frames: FrameAllocator, addr: int, error: int, rsp,
           around: int = 0, huge: bool = False) -> FaultResult:
    """rsp: the user stack pointer, or a function giving it (read only for stack growth);
    around: how many pages besides the faulting one fault-around may map (0: none);
    huge: a large anonymous mapping may get 2 MiB pages."""
    if addr >= USER_TOP:
        return _kill(f'{access_word(error)} of kernel address', addr)
    region = aspace.find(addr)
    grew = False                  # the access is just below the stack, which grows to it
    if region is None:
        region = _grow_stack(aspace, addr, rsp)
        grew = region is not None
    if region is None:
        access = access_word(error)
        return _kill(f'{access} to unmapped' if access == 'write' else f'{access} of unmapped', addr)
    prot = int(region.prot)
    if error & PF_FETCH and not prot & _EXEC:
        return _kill('execute of non-executable', addr)
    if error & PF_WRITE and not prot & _WRITE:
        return _kill('write to read-only', addr)
    if not prot:
        return _kill(f'{access_word(error)} of PROT_NONE', addr)
    va = addr & ~(PAGE_SIZE - 1)
    pte = aspace.pt.lookup(va)
    if not pte:
        try:
            aspace.pt.make_leaf_table(va)
        except OutOfMemory:
            return FaultResult(Action.NO_MEMORY, f'no free frame for {addr:#018x}', SIGBUS)
    if region.obj is not None:
        return _map_object_page(aspace, frames, region, va, error, pte)
    if region.shm is not None and not pte & P:
        return _map_segment_page(aspace, frames, region, va)
    try:
        if not pte & P:
            if pte & BLOCKED:
                return _blocked(frames, pte, va)
            if pte & SWAP:
                return _swap_in(aspace, frames, region, va, pte >> 12)
            if region.file is not None:
                return _map_file_page(aspace, frames, region, va, around)
            result = (huge and _huge_page(aspace, frames, region, va, around)) or \
                _fill(aspace, frames, region, va, around)
            return dataclasses.replace(result, action=Action.STACK_GROW) if grew else result
        if error & PF_WRITE and pte & COW:
            return _break_cow(aspace, frames, region, va, pte)
    except OutOfMemory:
        return FaultResult(Action.NO_MEMORY, f'no free frame for {addr:#018x}', SIGBUS)
    return FaultResult(Action.SPURIOUS)


def _grow_stack(aspace: AddressSpace, addr: int, rsp) -> Region | None:
    stack = next((r for r in aspace.regions if r.kind is Kind.STACK), None)
    if stack is None or addr >= stack.start or addr < STACK_TOP - min(aspace.stack_limit(), STACK_LIMIT_MAX):
        return None
    if addr < (rsp() if callable(rsp) else rsp) - STACK_GAP:
        return None
    new_start = page_down(addr)
    if aspace.overlapping(new_start, stack.start):
        return None
    stack.start = new_start
    return stack


def _fill(aspace: AddressSpace, frames: FrameAllocator, region: Region, va: int, around: int = 0) -> FaultResult:
    """Demand-zero (or copy from the program image) va's page and, on a sequential
    stream, the window after it, from one run of consecutive zeroed frames; in a large
    anonymous mapping, the whole 2 MiB block around va (_large_block)."""
    block = _large_block(aspace, frames, region, va, around)
    if block is not None:
        return block
    npages = _sequential_window(aspace, region, va, around)
    frame = None
    while npages > 1:                       # memory fragmented: a shorter run will do
        frame = frames.alloc_run(npages)
        if frame is not None:
            break
        npages //= 2
    if frame is None:
        npages, frame = 1, frames.alloc(zero=True)
    region.stream_next, region.stream_window = va + npages * PAGE_SIZE, npages
    action = Action.ZERO_FILL
    if region.image is not None:
        off = va - region.start
        n = min(npages * PAGE_SIZE, region.image.filesz - off)
        if n > 0:
            start = region.image.offset + off
            frames.memory.write(frame, region.image.data[start:start + n])
            action = Action.FILE_READ
    if npages == 1:
        aspace.map_page(va, frame, region.pte_flags())
        return FaultResult(action, frame=frame)
    aspace.map_fresh_run(va, frame, npages, region.pte_flags())
    return FaultResult(action, frame=frame, around=tuple(range(frame + PAGE_SIZE, frame + npages * PAGE_SIZE,
                                                               PAGE_SIZE)))


def _untouched_block(aspace: AddressSpace, region: Region, va: int, around: int) -> int | None:
    """The start of va's aligned 2 MiB block when a first touch there may map all of it:
    the block lies inside an anonymous mapping no file image backs, none of its pages is
    in use, and memory is plentiful (`around`)."""
    start = va & ~(LARGE_BLOCK - 1)
    if (region.kind is not Kind.ANON or region.image is not None or around < LARGE_PAGES - 1
            or start < region.start or start + LARGE_BLOCK > region.end
            or aspace.pt.empty_run(start, LARGE_PAGES) < LARGE_PAGES):
        return None
    return start


def _huge_page(aspace: AddressSpace, frames: FrameAllocator, region: Region, va: int,
               around: int) -> FaultResult | None:
    """A first touch in an untouched block (_untouched_block) of a private anonymous
    mapping maps the block as one 2 MiB page (mm/huge.py), as Linux's transparent huge
    pages do; it is split later wherever page granularity is needed.  None when it
    cannot (then _fill decides), as when no 2 MiB-aligned run of frames is free."""
    if region.shared or _untouched_block(aspace, region, va, around) is None:
        return None
    frame = map_huge_page(aspace, frames, region, va)
    return FaultResult(Action.ZERO_FILL, frame=frame, huge=True) if frame is not None else None


def _large_block(aspace: AddressSpace, frames: FrameAllocator, region: Region, va: int,
                 around: int) -> FaultResult | None:
    """Without 2 MiB pages (--no-huge-pages, a lab in progress, no aligned run free), a
    first touch in an untouched block (_untouched_block) still maps the whole block, with
    512 4 KiB entries from one run of zeroed frames: a program that scatters its touches
    over a big array takes a fault per 2 MiB, not per 4 KiB.  None when this fault should
    map less."""
    start = _untouched_block(aspace, region, va, around)
    if start is None:
        return None
    frame = frames.alloc_run(LARGE_PAGES)
    if frame is None:
        return None                         # memory fragmented: fault-around's halving decides
    aspace.map_fresh_run(start, frame, LARGE_PAGES, region.pte_flags())
    mine = frame + (va - start)
    others = tuple(f for f in range(frame, frame + LARGE_BLOCK, PAGE_SIZE) if f != mine)
    return FaultResult(Action.ZERO_FILL, frame=mine, around=others)


def _sequential_window(aspace: AddressSpace, region: Region, va: int, around: int) -> int:
    """How many pages from va this fault maps: 1, unless it continues the region's
    sequential stream; then a window that doubles with each fault of the stream, cut at
    the region's end, the leaf table's end and the first entry already in use."""
    if va != region.stream_next or not around:
        region.stream_next, region.stream_window = va + PAGE_SIZE, 1
        return 1
    window = min(max(FAULT_AROUND_FIRST, 2 * region.stream_window), around + 1,
                 (region.end - va) // PAGE_SIZE, FAULT_AROUND_MAX - ((va >> 12) & (FAULT_AROUND_MAX - 1)))
    window = max(1, aspace.pt.empty_run(va, window))
    region.stream_next, region.stream_window = va + window * PAGE_SIZE, window
    return window


def fill_zero_pages(aspace: AddressSpace, frames: FrameAllocator, va: int, npages: int) -> list[int]:
    """Demand-zero npages absent pages from va at once, for a kernel copy about to write
    every one of them (read() into a fresh buffer): one run of zeroed frames, mapped
    Accessed and Dirty as the copy will leave them.  Only pages of one anonymous region
    that no file image backs; returns the frames mapped ([] when the caller should fault
    page by page)."""
    region = aspace.find(va)
    if region is None or region.file is not None or region.obj is not None or region.shm is not None \
            or not int(region.prot) & Prot.WRITE.value:
        return []
    if region.image is not None and va - region.start < region.image.filesz:
        return []
    npages = min(npages, (region.end - va) // PAGE_SIZE)
    frame = frames.alloc_run(npages) if npages > 1 else None
    if frame is None:
        return []
    flags = region.pte_flags() | A | D
    out = [frame + i * PAGE_SIZE for i in range(npages)]
    for i, f in enumerate(out):
        aspace.map_page(va + i * PAGE_SIZE, f, flags)
    return out


def _break_cow(aspace, frames, region, va, pte) -> FaultResult:
    old = frame_of(pte)
    flags = region.pte_flags()
    if frames.refs(old) == 1:
        aspace.pt.map(va, old, flags)
        return FaultResult(Action.COW_REUSE)
    new = frames.alloc(zero=False)
    frames.memory.copy(new, old, PAGE_SIZE)
    aspace.replace_page(va, old, new, flags)
    frames.release(old)
    return FaultResult(Action.COW_COPY, frame=new)


READAHEAD_PAGES = 8          # on a miss in a mapped file, read this many pages ahead
HOLE = -1                    # MappedFile.blocks: a page inside the file with no block yet


def _map_file_page(aspace, frames, region, va, around: int = 0) -> FaultResult:
    """A page of a mapped file: the buffer cache's frame itself.  A shared mapping writes
    to it (the Dirty bit tells msync); a private one maps it copy-on-write."""
    index = (va - region.start) // PAGE_SIZE
    blockno = region.file.blocks[index] if index < len(region.file.blocks) else 0
    if blockno == HOLE:                        # a hole in the file (private mappings only)
        return _fill(aspace, frames, region, va)   # (no window: its neighbours are file pages)
    if not blockno:
        return FaultResult(Action.KILL, f'access beyond the end of the mapped file at {va:#018x}', SIGBUS)
    if region.file.direct:
        return _map_direct_page(aspace, frames, region, va, index, blockno)
    cache = region.file.cache
    buf = cache.page(blockno)
    if buf is None and blockno in cache.bad:
        return FaultResult(Action.KILL, f'read error in the mapped file at {va:#018x}', SIGBUS)
    if buf is None or not buf.valid:
        ahead = [b for b in region.file.blocks[index:index + READAHEAD_PAGES] if b > 0]
        cache.prefetch(ahead)                  # this page and a few after it, in one batch
        buf = cache.page(blockno)
        if buf is None and blockno not in cache.bad:    # no frame was free for it
            return FaultResult(Action.NO_MEMORY, f'no free frame for {va:#018x}', SIGBUS)
        if buf is None or buf.io is None:
            return FaultResult(Action.KILL, f'read error in the mapped file at {va:#018x}', SIGBUS)
        buf.wanted = True                      # reclaim spares it until this process is back
        return FaultResult(Action.WAIT, queue=buf.io.waiters)
    buf.wanted = False
    flags = region.pte_flags()
    if not region.shared:
        flags = (flags & ~W) | (COW if flags & W else 0)
    frame = buf.addr(blockno)
    frames.share(frame)
    aspace.map_page(va, frame, flags)
    return FaultResult(Action.FILE_READ, frame=frame,
                       around=_map_cached_around(aspace, frames, region, index, flags) if around else ())


def _map_cached_around(aspace, frames, region, index, flags) -> tuple:
    """Fault-around in a mapped file: the other pages of the aligned 16-page window around
    the fault that the buffer cache already holds, mapped as the faulting one was (no I/O
    is started for them).  Returns their frames."""
    blocks, cache = region.file.blocks, region.file.cache
    lo = max(index & -FILE_AROUND_PAGES, 0)
    hi = min(lo + FILE_AROUND_PAGES, len(blocks), (region.end - region.start) // PAGE_SIZE)
    mapped = []
    for i in range(lo, hi):
        blockno = blocks[i]
        if i == index or blockno <= 0 or blockno in cache.bad:
            continue
        va = region.start + i * PAGE_SIZE
        buf = cache.peek(blockno)
        if buf is None or aspace.pt.lookup(va):
            continue
        frame = buf.addr(blockno)
        frames.share(frame)
        aspace.map_page(va, frame, flags)
        mapped.append(frame)
    return tuple(mapped)


def _map_direct_page(aspace, frames, region, va, index, blockno) -> FaultResult:
    """MAP_DIRECT: a private frame is the DMA target (the cache is bypassed); the process
    waits for its read, then the frame is mapped as the mapping's own page."""
    from ..dev.blk import BlockRequest
    pending = region.file.pending.get(index)
    if pending is None:
        cache = region.file.cache
        per = PAGE_SIZE // cache.disk.sector_size
        # this page and the next few not yet present, in one batch (readahead)
        for i in range(index, min(index + READAHEAD_PAGES * 8, len(region.file.blocks))):
            block = region.file.blocks[i]
            if block <= 0 or i in region.file.pending or (i != index and
                                                          aspace.pt.lookup(region.start + i * PAGE_SIZE)):
                continue
            frame = frames.alloc(zero=False)
            frames.pin(frame)
            req = cache.queue.submit(BlockRequest(cache.disk, cache.start_lba + block * per, per,
                                                  [(frame, PAGE_SIZE)]))
            region.file.pending[i] = (frame, req)
        pending = region.file.pending[index]
    frame, req = pending
    if not req.done:
        return FaultResult(Action.WAIT, queue=req.waiters)
    del region.file.pending[index]
    frames.unpin(frame)
    if req.error:
        frames.release(frame)
        return FaultResult(Action.KILL, f'read error in the mapped file at {va:#018x}', SIGBUS)
    aspace.map_page(va, frame, region.pte_flags())
    return FaultResult(Action.FILE_READ, frame=frame)


def _map_object_page(aspace, frames, region, va, error, pte) -> FaultResult:
    """A page object mapped with ukern_cap_map: its frame in the object cache.  It is
    mapped read-only at first, so the first write marks the object dirty."""
    objects, cap = frames.objects, region.obj
    if objects is None or not objects.current(cap):
        return FaultResult(Action.KILL, f'access through a revoked capability at {va:#018x}', SIGSEGV)
    if cap.oid in objects.broken:
        return FaultResult(Action.KILL, f'object {cap.oid:#x} is damaged on the disk (EIO) at {va:#018x}', SIGBUS)
    frame = objects.cached_frame(cap.oid)
    if frame is None and objects.link is not None and objects.link.running:
        return FaultResult(Action.WAIT, queue=objects.link.request_load(cap.oid))   # upcall
    if frame is None and objects.link is not None:
        # Only the object server can reach the store's disk (kernel/obj/server.py).
        return FaultResult(Action.KILL, f'object at {va:#018x}: the object server is gone', SIGBUS)
    writing = bool(error & PF_WRITE)
    checkpoints = objects.checkpoints
    if writing and cap.oid not in objects.dirty and not checkpoints.room_for(1):
        if checkpoints.failed is not None:         # no checkpoint can make room any more
            return FaultResult(Action.KILL, f'object at {va:#018x}: the object store cannot be written', SIGBUS)
        checkpoints.request()                      # the log is full: wait for a checkpoint
        return FaultResult(Action.WAIT, queue=checkpoints.done)
    try:
        frame = frame if frame is not None else objects.page_frame(cap.oid)
        if frame is None:
            return FaultResult(Action.KILL, f'object {cap.oid:#x} is damaged on the disk (EIO) at {va:#018x}', SIGBUS)
        if writing:                                # a checkpoint holds it: copy for the writer
            frame = checkpoints.copy_for_writer(cap.oid, frame)
            pte = aspace.pt.lookup(va)
    except OutOfMemory:
        return FaultResult(Action.NO_MEMORY, f'no free frame for {va:#018x}', SIGBUS)
    if pte & P:
        if not writing:
            return FaultResult(Action.SPURIOUS)
        aspace.pt.update(va, pte | W)              # the first write: the object is now dirty
        objects.mark_dirty(cap.oid)
        return FaultResult(Action.OBJECT)
    frames.share(frame)
    objects.young.discard(cap.oid)                 # mapped: its Accessed bit speaks now
    flags = region.pte_flags()
    if writing:
        objects.mark_dirty(cap.oid)
    else:
        flags &= ~W
    aspace.map_page(va, frame, flags)
    return FaultResult(Action.OBJECT)


def _map_segment_page(aspace, frames, region, va) -> FaultResult:
    """A page of a System V shared memory segment (ipc/shm.py): the segment's own frame,
    made on first touch.  Reclaim is not told of it (frame=0): the segment's pages stay."""
    segment, first = region.shm
    try:
        frame = segment.frame(frames, first + (va - region.start) // PAGE_SIZE)
    except OutOfMemory:
        return FaultResult(Action.NO_MEMORY, f'no free frame for {va:#018x}', SIGBUS)
    frames.share(frame)
    aspace.map_page(va, frame, region.pte_flags())
    return FaultResult(Action.SHARED_PAGE)


def _blocked(frames, pte: int, va: int) -> FaultResult:
    """A page of an asynchronous read: wait for that page alone, or SIGBUS if it failed."""
    if pte & SWAP:                              # POISON: both software bits
        return FaultResult(Action.KILL, f'I/O error on page {va & ~(PAGE_SIZE - 1):#018x}', SIGBUS)
    page = frames.aio.blocked_page(pte)
    if page is None:                            # arrived between the fault and now
        return FaultResult(Action.SPURIOUS)
    return FaultResult(Action.WAIT, queue=page.waiters)


def _swap_in(aspace, frames, region, va, slot) -> FaultResult:
    """Bring a swapped-out page back: from the swap cache if another mapper already did,
    else start the read and make the process wait for it (it retries the instruction)."""
    swap = frames.swap
    if slot in swap.failed:
        return FaultResult(Action.KILL, f'page at {va:#018x} lost: its swap read failed', SIGBUS)
    cached = swap.cache.get(slot) or swap.read_into_cache(slot)
    if cached.request is not None:
        return FaultResult(Action.WAIT, queue=cached.request.waiters)
    frames.share(cached.frame)
    swap.release(slot)                            # this PTE no longer holds the slot
    # Dirty from the start: the page may differ from its program image, and once the
    # slot is gone memory holds the only copy (reclaim must not drop it as a clean
    # file page and read the image again).
    flags = region.pte_flags() | D
    if frames.refs(cached.frame) > 1 and not region.shared:
        flags = (flags & ~W) | COW                # still shared with another mapper
    aspace.map_page(va, cached.frame, flags)
    return FaultResult(Action.SWAP_IN, frame=cached.frame)
