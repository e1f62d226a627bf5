"""Page-level asynchronous I/O (seed 000, "blocking with pages"; seed 004, copy-on-write of
pages under an in-flight write).

ukern_aread marks every page of the buffer not present and BLOCKED in the page table (a
software bit; the entry's upper bits name the page's I/O) and returns at once.  A fresh
frame, pinned, receives each page's DMA; when it lands, the frame is mapped at its place
and whoever touched the page meanwhile (and blocked on that page alone) is woken.  A page
whose read failed is POISONED: touching it raises SIGBUS; ukern_await reports EIO.

ukern_awrite DMAs straight from the user's frames.  While a frame is on its way to the
disk it is pinned, holds an extra reference, and its PTE is read-only copy-on-write: a
write by the process gets a private copy, and the disk receives exactly what the buffer
held when the call was made.

A process that exits or unmaps the buffer meanwhile frees nothing under DMA: the I/O owns
its frames until completion, then lets them go.
"""

from dataclasses import dataclass, field

from ..dev.blk import BlockRequest
from ..errno import Errno
from ..proc.wait import WaitQueue
from .frames import PAGE_SIZE
from .pagetable import P, W, COW, SWAP, BLOCKED, ADDR_MASK

POISON = SWAP | BLOCKED          # a not-present entry for a page whose read failed


@dataclass(eq=False)
class AioPage:
    """One page of an asynchronous transfer, with the frame it is done into."""
    id: int
    va: int
    frame: int = 0
    done: bool = False
    error: int = 0
    waiters: WaitQueue = field(default_factory=lambda: WaitQueue('aio page'))


@dataclass(eq=False)
class AioRequest:
    """An asynchronous read or write a process started (ukern_aread, ukern_awrite)."""
    id: int
    pid: int
    write: bool
    nbytes: int
    pages: list = field(default_factory=list)
    remaining: int = 0
    error: int = 0
    done: WaitQueue = field(default_factory=lambda: WaitQueue('aio request', interruptible=True))


class AioEngine:
    def __init__(self, kernel):
        self.kernel = kernel
        self.requests: dict[int, AioRequest] = {}
        self.pages: dict[int, AioPage] = {}
        self._next = 1

    def _id(self) -> int:
        self._next += 1
        return self._next - 1

    def blocked_page(self, pte: int) -> AioPage | None:
        """The I/O a BLOCKED entry waits for (fault handler)."""
        return self.pages.get(pte >> 12)

    # -- reads ----------------------------------------------------------------------------
    def start_read(self, p, cache, blocks: list[int], buf: int, nbytes: int) -> AioRequest:
        """blocks[i] is the disk block for page i (0: a hole, read as zeros)."""
        k = self.kernel
        req = AioRequest(self._id(), p.pid, False, nbytes)
        aspace = p.aspace
        for i, blockno in enumerate(blocks):
            va = buf + i * PAGE_SIZE
            self._drop_old_page(aspace, va)
            cached = cache.page(blockno) if blockno else None
            if not blockno or (cached is not None and cached.valid):
                frame = k.frames.alloc(zero=not blockno)
                if blockno:
                    k.machine.memory.copy(frame, cached.addr(blockno), PAGE_SIZE)   # the cache is newest
                self._arrive(aspace, va, frame, aspace.find(va))
                continue
            page = AioPage(self._id(), va, k.frames.alloc(zero=False))
            self.pages[page.id] = page
            req.pages.append(page)
            k.frames.pin(page.frame)
            aspace.pt.set(va, (page.id << 12) | BLOCKED)
            lba = cache.start_lba + blockno * (PAGE_SIZE // cache.disk.sector_size)
            cache.queue.submit(BlockRequest(cache.disk, lba, PAGE_SIZE // cache.disk.sector_size,
                                            [(page.frame, PAGE_SIZE)],
                                            on_done=lambda r, pg=page: self._read_done(p, req, pg, r)))
        req.remaining = len(req.pages)
        self.requests[req.id] = req
        k.flush_tlb(p)
        self._event('aread', p, req, pages=len(blocks), in_flight=req.remaining)
        return req

    def _drop_old_page(self, aspace, va: int) -> None:
        """The buffer's old contents will be overwritten: let its frame (or slot) go."""
        pte = aspace.unmap_page(va)
        if pte & P:
            self.kernel.frames.release(pte & ADDR_MASK)
        elif pte & SWAP and not pte & BLOCKED and self.kernel.frames.swap is not None:
            self.kernel.frames.swap.release(pte >> 12)

    def _arrive(self, aspace, va: int, frame: int, region) -> None:
        flags = region.pte_flags() if region is not None else 0
        aspace.map_page(va, frame, flags)
        self.kernel.reclaim.track(frame)

    def _read_done(self, p, req: AioRequest, page: AioPage, blockreq) -> None:
        k = self.kernel
        page.done = True
        del self.pages[page.id]
        k.frames.unpin(page.frame)
        aspace = p.aspace
        still_ours = aspace.pt.lookup(page.va) == (page.id << 12) | BLOCKED
        if blockreq.error:
            page.error = req.error = -Errno.EIO
            if still_ours:
                aspace.pt.set(page.va, POISON)
            k.frames.release(page.frame)
        elif still_ours:
            self._arrive(aspace, page.va, page.frame, aspace.find(page.va))
        else:
            k.frames.release(page.frame)       # unmapped (or exited) meanwhile
        page.waiters.wake_all(k.wake)
        req.remaining -= 1
        self._event('page arrived', p, req, va=hex(page.va), error=page.error, still_in_flight=req.remaining)
        if req.remaining == 0:
            req.done.wake_all(k.wake)

    # -- writes ---------------------------------------------------------------------------
    def start_write(self, p, cache, blocks: list[int], buf: int, nbytes: int, on_error) -> AioRequest:
        """blocks[i] is the (allocated) disk block for page i; the pages are present."""
        k = self.kernel
        req = AioRequest(self._id(), p.pid, True, nbytes)
        aspace = p.aspace
        for i, blockno in enumerate(blocks):
            va = buf + i * PAGE_SIZE
            pte = aspace.pt.lookup(va)
            frame = pte & ADDR_MASK
            cached = cache.page(blockno)
            if cached is not None:
                if cached.valid and cached.idle:
                    # The cache keeps its copy coherent: it gets the bytes and writes them.
                    k.machine.memory.copy(cached.addr(blockno), frame, PAGE_SIZE)
                    cache.mark_dirty(blockno)
                    continue
            page = AioPage(self._id(), va, frame)
            req.pages.append(page)
            k.frames.pin(frame)
            k.frames.share(frame)                     # the write holds the frame
            if pte & W:
                aspace.pt.update(va, (pte & ~W) | COW)   # seed 004: a write now copies the page
            lba = cache.start_lba + blockno * (PAGE_SIZE // cache.disk.sector_size)
            cache.queue.submit(BlockRequest(cache.disk, lba, PAGE_SIZE // cache.disk.sector_size,
                                            [(frame, PAGE_SIZE)], write=True,
                                            on_done=lambda r, pg=page: self._write_done(p, req, pg, r, on_error)))
        req.remaining = len(req.pages)
        self.requests[req.id] = req
        k.flush_tlb(p)
        self._event('awrite', p, req, pages=len(blocks), in_flight=req.remaining)
        if req.remaining == 0:
            req.done.wake_all(k.wake)
        return req

    def _write_done(self, p, req, page, blockreq, on_error) -> None:
        k = self.kernel
        page.done = True
        k.frames.unpin(page.frame)
        k.frames.release(page.frame)
        if blockreq.error:
            page.error = req.error = -Errno.EIO
            on_error()
        req.remaining -= 1
        self._event('page written', p, req, va=hex(page.va), error=page.error, still_in_flight=req.remaining)
        if req.remaining == 0:
            req.done.wake_all(k.wake)

    # -- completion -------------------------------------------------------------------------
    def wait(self, p, req_id: int):
        """ukern_await: bytes moved, or a negative errno (a generator)."""
        req = self.requests.get(req_id)
        if req is None or req.pid != p.pid:
            return -Errno.EINVAL
        while req.remaining:
            yield req.done
        del self.requests[req_id]
        return req.error or req.nbytes

    def poll(self, p, req_id: int) -> int:
        req = self.requests.get(req_id)
        if req is None or req.pid != p.pid:
            return -Errno.EINVAL
        if req.remaining:
            return -Errno.EAGAIN
        return req.error or req.nbytes

    def _event(self, what: str, p, req, **args) -> None:
        if self.kernel.trace.enabled:
            self.kernel._emit('aio', p, what=what, request=req.id, **args)
