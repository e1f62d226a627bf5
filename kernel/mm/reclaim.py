"""Reclaim: when free frames fall below a low watermark, evict pages until a high one.

The replacement policy (mm/policy/, chosen at boot with --policy) picks victims among the
user pages; it sees references through the Accessed bits the CPU set in every PTE that
maps a page (found through the reverse map), never through a per-access hook.

  - A clean page that a file image can give back (program text, untouched data) is simply
    unmapped and freed; the next touch reads it again.  So is a clean page mapped from
    the buffer cache (mmap, a paged program): every mapper loses it and the cache gives
    its buffer back once none of it is mapped.  With no swap room, a floor of such file
    pages stays mapped (_keeps_file_page), so that the OOM killer acts before a process
    refaults its own code for ever.
  - Any other page is paged out to swap (and is no candidate when swap has no room), as
    seed 004 describes: its Dirty bits are cleared, the write starts while the page
    stays mapped, and when the write completes the Dirty bits are checked again.  A page
    written meanwhile keeps its frame and the page-out counts as not done; otherwise
    every mapper's PTE becomes a swap entry and the frame is freed.  The frame is pinned
    while the DMA reads it.
  - A page of a memory file (tmpfs, mm/shmem.py) goes to swap the same way, even when it
    is mapped shared by several processes: when the write completes every mapper loses
    its PTE (the next fault asks the file) and the file keeps the slot.  write() to such
    a page during the page-out counts as the Dirty bit does (`redirty`).
  - Pinned frames (DMA in flight) and other shared mappings are never chosen.
  - With nothing left to evict and no frame free, the largest process is killed (OOM).
  - A 2 MiB page (mm/huge.py) is one page to the policy, known by its first frame; when
    the policy clears its Accessed bit or chooses it, it is split first, and the other
    511 frames join the policy as ordinary pages (after the policy's choice, which must
    not see its lists change under it).
"""

import enum
from dataclasses import dataclass

from ..trap import Signal
from .frames import PAGE_SIZE, OutOfMemory
from .pagetable import A, D, SWAP
from .policy import make, NoEvictablePage
from ..proc.wait import WaitQueue

LOW_FRACTION = 32          # low watermark: 1/32 of RAM free
MIN_LOW = 16
FILE_FLOOR_FRACTION = 16   # file pages kept mapped when anonymous ones cannot go: 1/16 of RAM


class Oom(enum.Enum):
    """What out_of_memory decided for a process that found no free frame."""
    RETRY = 'frames are free again: try the allocation again now'
    WAIT = 'page-outs are on their way: wait on memory_freed'
    FAIL = 'nothing can be freed, or the process itself was killed'


@dataclass
class PageOut:
    """A page being written to swap: its frame, its slot, and when it started."""
    frame: int
    slot: int
    started: int
    redirtied: bool = False        # write() changed the page meanwhile (memory files)


class Reclaimer:
    def __init__(self, kernel, policy: str = 'clock'):
        self.kernel = kernel
        self.frames = kernel.frames
        self.policy = make(policy)
        self.policy_name = policy
        self.low = max(MIN_LOW, self.frames.total // LOW_FRACTION)
        self.high = 2 * self.low
        self.file_floor = self.frames.total // FILE_FLOOR_FRACTION
        self.file_pages: set[int] = set()    # frames mapped from files (a fault read them)
        self.tracked: set[int] = set()
        self.inflight: dict[int, PageOut] = {}
        self.memory_freed = WaitQueue('free memory')
        self.frames.on_free = self._frame_freed
        self.frames.on_split = self._huge_split
        self._choosing = False     # inside the policy's choose_victim: splits wait in _split_later
        self._split_later: list[int] = []
        self.stats = kernel.vmstat
        self.shrinkers = []        # caches that can give clean frames back: shrink(n) -> freed
        self.owners: dict[int, tuple] = {}   # frame -> (ShmemPages, index): memory-file pages

    # -- which pages the policy knows ---------------------------------------------------
    def track(self, frame: int) -> None:
        """A user page became resident."""
        if frame not in self.tracked:
            self.tracked.add(frame)
            self.policy.added(frame)

    def track_file_pages(self, frames) -> None:
        """Pages a fault mapped from a file (a program's, or mmap's)."""
        self.file_pages.update(frames)

    def _keeps_file_page(self, frame: int) -> bool:
        """With no swap room, anonymous memory can only grow by taking file pages, and a
        process whose code and data no longer fit refaults the same pages for ever
        (thrashing).  Below a floor of file pages, reclaim stops taking them, and the
        out-of-memory killer acts instead (Linux's min_filelist_kbytes, ChromeOS)."""
        swap = self.frames.swap
        return frame in self.file_pages and len(self.file_pages) <= self.file_floor \
            and (swap is None or swap.free_slots == 0)

    # -- pages of memory files (mm/shmem.py) ------------------------------------------------
    def own(self, frame: int, pages, index: int) -> None:
        self.owners[frame] = (pages, index)

    def disown(self, frame: int) -> None:
        self.owners.pop(frame, None)

    def redirty(self, frame: int) -> None:
        out = self.inflight.get(frame)
        if out is not None:
            out.redirtied = True

    def track_all(self, frames) -> None:
        """Pages fault-around made resident, in address order."""
        new = [f for f in frames if f not in self.tracked] if not self.tracked.isdisjoint(frames) else frames
        self.tracked.update(new)
        self.policy.added_all(list(new))

    def _frame_freed(self, frame: int, count: int = 1) -> None:
        if self.owners:
            for f in range(frame, frame + count * PAGE_SIZE, PAGE_SIZE):
                self.owners.pop(f, None)
        if self.file_pages:
            if count == 1:
                self.file_pages.discard(frame)
            else:
                self.file_pages.difference_update(range(frame, frame + count * PAGE_SIZE, PAGE_SIZE))
        if self.tracked:
            if count == 1:
                if frame in self.tracked:
                    self.tracked.discard(frame)
                    self.policy.removed(frame)
            else:                           # a run (a teardown, an evicted buffer)
                end = frame + count * PAGE_SIZE
                if len(self.tracked) < count:   # look through whichever is smaller
                    gone = {f for f in self.tracked if frame <= f < end}
                else:
                    gone = self.tracked.intersection(range(frame, end, PAGE_SIZE))
                self.tracked.difference_update(gone)
                self.policy.removed_all(sorted(gone))
        if self.memory_freed.waiters:
            self.memory_freed.wake_all(self.kernel.wake)

    def _huge_split(self, frame: int, count: int) -> None:
        """A 2 MiB page from `frame` became `count` pages: the policy knew only the first."""
        self.stats['thp_split_page'] += 1
        others = range(frame + PAGE_SIZE, frame + count * PAGE_SIZE, PAGE_SIZE)
        if self._choosing:
            self._split_later.extend(others)
        else:
            self.track_all(list(others))

    def _choose_victim(self) -> int:
        self._choosing = True
        try:
            return self.policy.choose_victim(self.is_referenced, self.clear_referenced, self.can_evict)
        finally:
            self._choosing = False
            if self._split_later:
                later, self._split_later = self._split_later, []
                self.track_all(later)

    def _split_if_huge(self, frame: int) -> None:
        """The victim is a 2 MiB page's first frame: it becomes 512 pages, this one of them."""
        for aspace, va in self.frames.rmap.mappers(frame):
            if aspace.pt.huge_entry(va):
                aspace.pt.split(va)

    # -- the policy's view of the hardware bits ------------------------------------------
    def _ptes(self, frame: int):
        for aspace, va in self.frames.rmap.mappers(frame):
            yield aspace, va, aspace.pt.lookup(va)

    def is_referenced(self, frame: int) -> bool:
        return any(pte & A for _, _, pte in self._ptes(frame))

    def clear_referenced(self, frame: int) -> None:
        for aspace, va, pte in self._ptes(frame):
            if pte & A:
                aspace.pt.update(va, pte & ~A)
        self._flush = True         # the CPU's TLB may still hold the A bit set

    def can_evict(self, frame: int) -> bool:
        if self.frames.pinned(frame) or frame in self.inflight:
            return False
        mappers = self.frames.rmap.mappers(frame)
        if frame in self.owners:            # the file's reference and one per mapper
            swap = self.frames.swap
            return swap is not None and swap.free_slots > 0 and self.frames.refs(frame) == 1 + len(mappers)
        if self.file_pages and self._keeps_file_page(frame):
            return False
        refs = self.frames.refs(frame)
        if mappers and refs == len(mappers) + 1 and self._cache_page(mappers) is not None:
            return True                     # the cache's reference, and the mappers'
        cached = self.frames.swap is not None and self.frames.swap.slot_of(frame) is not None
        if not mappers and not cached or len(mappers) + cached != refs:
            return False            # held by something other than page tables
        if any(aspace.find(va).shared for aspace, va in mappers):
            return False
        swap = self.frames.swap
        if cached or swap is not None and swap.free_slots:
            return True
        return self._clean_file_page(frame, mappers)    # with nowhere to write it, only that

    @staticmethod
    def _cache_page(mappers):
        """(buffer cache, block) when every mapper maps the page from a file through the
        buffer cache (mmap, a paged program's text) and none has written it: the cache
        holds it and can read it again, so unmapping it loses nothing.  Else None."""
        found = None
        for aspace, va in mappers:
            region = aspace.find(va)
            mapped = region.file if region is not None else None
            if mapped is None or mapped.direct or not mapped.cache.gives_back_mapped_pages \
                    or aspace.pt.lookup(va) & D:
                return None
            page = (mapped.cache, mapped.blocks[(va - region.start) // PAGE_SIZE])
            if found is not None and page != found:
                return None
            found = page
        return found

    # -- balancing -----------------------------------------------------------------------
    def balance(self) -> None:
        """Called by the kernel's loop: start evictions while free memory is low."""
        if self.frames.free_count + len(self.inflight) >= self.low:
            return
        for shrink in self.shrinkers:              # clean cached blocks go first: no I/O
            shrink(self.high - self.frames.free_count - len(self.inflight))
        self._flush = False
        if getattr(self.policy, 'wants_every_reference', False):
            self._age()
        while self.frames.free_count + len(self.inflight) < self.high:
            try:
                victim = self._choose_victim()
            except NoEvictablePage:
                break
            self.tracked.discard(victim)
            if not self._evict(victim):
                break
        if self._flush:
            self.kernel.cpu.flush_tlb()

    def _age(self) -> None:
        """For exact LRU, which cannot see every access here: report each page whose
        Accessed bit is set as referenced now (and clear the bit), in a fixed order."""
        for frame in sorted(self.tracked):
            if self.is_referenced(frame):
                self.clear_referenced(frame)
                self.policy.referenced(frame)

    def _evict(self, frame: int) -> bool:
        self._split_if_huge(frame)
        mappers = self.frames.rmap.mappers(frame)
        swap = self.frames.swap
        cached_slot = swap.slot_of(frame) if swap is not None else None
        if cached_slot is not None:
            # Its content is already in the slot: every mapper gets the swap entry back.
            for _ in mappers:
                swap.share(cached_slot)
            self.unmap_all(frame, mappers, cached_slot, share_first=False)
            swap.drop_cached(cached_slot)
            self.stats['pgsteal_swapcache'] += 1
            return True
        cache_page = self._cache_page(mappers) \
            if mappers and self.frames.refs(frame) == len(mappers) + 1 else None
        if cache_page is not None:
            self.file_pages.discard(frame)
            self.unmap_all(frame, mappers)
            cache, block = cache_page
            cache.page_unmapped(block)         # the buffer goes once no one maps any of it
            self.stats['pgsteal_file'] += 1
            self._event('evict', frame, page='file page unmapped')
            return True
        if frame not in self.owners and self._clean_file_page(frame, mappers):
            self.file_pages.discard(frame)
            self.unmap_all(frame, mappers)
            self.stats['pgsteal_file'] += 1
            self._event('evict', frame, page='file page dropped')   # (kind= is the event's own)
            return True
        slot = swap.alloc() if swap is not None else None
        if slot is None:
            self.policy.added(frame)           # keep it: nowhere to put it
            self.tracked.add(frame)
            return False
        for aspace, va, pte in self._ptes(frame):
            aspace.pt.update(va, pte & ~D)      # seed 004: was it written during the write?
        self._flush = True
        self.frames.pin(frame)
        self.inflight[frame] = PageOut(frame, slot, self.kernel.clock.now)
        swap.write(frame, slot, lambda req, f=frame: self._page_out_done(f, req))
        self.stats['pswpout_started'] += 1
        self._event('pageout', frame, slot=slot)
        return True

    @staticmethod
    def _clean_file_page(frame, mappers) -> bool:
        """Can the page be read again from its program image, unchanged?"""
        for aspace, va in mappers:
            region = aspace.find(va)
            pte = aspace.pt.lookup(va)
            if region is None or region.image is None or pte & D or region.image.filesz <= va - region.start:
                return False
        return True

    def _page_out_done(self, frame: int, req) -> None:
        try:
            self._finish_page_out(frame, req)
        finally:
            # Those waiting for memory look again even when this page-out freed nothing
            # (the page was written meanwhile): they may start others, or kill.
            if self.memory_freed.waiters:
                self.memory_freed.wake_all(self.kernel.wake)

    def _finish_page_out(self, frame: int, req) -> None:
        out = self.inflight.pop(frame)
        swap = self.frames.swap
        ptes = list(self._ptes(frame))
        owner = self.owners.get(frame)
        if req.error or out.redirtied or any(pte & D for _, _, pte in ptes):
            swap.release(out.slot)               # written meanwhile (or I/O error): not done
            for aspace, va, pte in ptes:         # the Dirty bits cleared for the write were
                aspace.pt.update(va, pte | D)    # all that kept it from being a clean page
            self.stats['pageout_redirtied' if not req.error else 'pageout_failed'] += 1
            self.frames.unpin(frame)
            if ptes or owner is not None:
                self.track(frame)
            return
        if owner is not None:                    # a memory file's page: the file keeps the slot
            self.unmap_all(frame, [(a, va) for a, va, _ in ptes])
            pages, index = owner
            if not pages.evicted(index, frame, out.slot):
                swap.release(out.slot)           # it left the file meanwhile
        elif ptes:
            self.unmap_all(frame, [(a, va) for a, va, _ in ptes], out.slot)
        else:
            swap.release(out.slot)               # everyone let go of the page meanwhile
        self.frames.unpin(frame)
        self.stats['pswpout'] += 1
        self._event('swapped out', frame, slot=out.slot)

    def unmap_all(self, frame: int, mappers, slot: int = 0, share_first: bool = True) -> None:
        """Every mapper loses the page (and its reference to the frame); with a slot, each
        keeps a swap entry to it (a new slot starts with one reference, for the first
        mapper).  The object cache drops its pages this way too (obj/objects.py)."""
        for i, (aspace, va) in enumerate(mappers):
            aspace.unmap_page(va)
            if slot:
                aspace.pt.set(va, (slot << 12) | SWAP)
                if i and share_first:
                    self.frames.swap.share(slot)
            self.frames.release(frame)
            self.kernel.flush_tlb_of(aspace)

    # -- out of memory -------------------------------------------------------------------------
    def wait_for_memory(self):
        """Generator for the kernel's own allocations (the buffer cache's), which found no
        free frame: start evictions; return at once if frames are free now (the shrinkers
        gave clean cached ones back), after a page-out completes if some are on their way.
        Kills no one: OutOfMemory (ENOMEM) when nothing can be freed."""
        self.balance()
        if self.frames.free_count:
            return
        if not self.inflight:
            raise OutOfMemory()
        yield self.memory_freed

    def alloc_for(self, p, zero: bool):
        """Generator: a frame for process p's call, waiting as a page fault does: for
        page-outs, or for the OOM killer to end the largest process (OutOfMemory if that
        is p, or if nothing can be freed)."""
        while True:
            try:
                return self.frames.alloc(zero=zero)
            except OutOfMemory:
                decision = self.out_of_memory(p)
                if decision is Oom.FAIL:
                    raise
                if decision is Oom.WAIT:
                    yield self.memory_freed

    def out_of_memory(self, p, retry_if_freed: bool = True) -> Oom:
        """No free frame for p's page: evict what can be, else kill the largest process.

        A victim's memory is usually freed inside the kill, before anyone could wait for
        it; so after a kill the answer is RETRY when frames are free, WAIT only while
        page-outs still have to free them (their completion wakes memory_freed): waiting
        after the frames came back would wait for ever.  So is the answer when balance()
        freed frames at once (clean cached or mapped file pages dropped), unless the fault
        path found that the process would only take back the pages it needs together
        (kernel/pagefaults.py, _thrashing): then retry_if_freed is False and the largest
        process is killed to make room."""
        self.balance()
        if self.frames.free_count and retry_if_freed:
            return Oom.RETRY
        if self.inflight:
            return Oom.WAIT
        # The kernel's servers (the object server) run in fixed, pinned resources: killing
        # one frees little and leaves every process that needs it waiting for ever.
        victims = [q for q in self.kernel.procs.values()
                   if q.state.value != 'zombie' and not self.kernel.procs.get(q.tgid, q).exiting
                   and q.tgid not in self.kernel.daemons]
        if not victims:
            return Oom.FAIL
        largest = max(victims, key=lambda q: sum(1 for _ in q.aspace.pt.present_pages(0, 1 << 47)))
        self.stats['oom_kill'] += 1
        self.kernel.terminate(largest, Signal.SIGKILL,
                              f'ukern: out of memory: killed pid {largest.pid} ({largest.name}), '
                              f'the largest process')
        if largest is p:
            return Oom.FAIL
        return Oom.RETRY if self.frames.free_count else Oom.WAIT

    def _event(self, what: str, frame: int, **args) -> None:
        if self.kernel.trace.enabled:
            self.kernel._emit('reclaim', None, what=what, frame=hex(frame), policy=self.policy_name, **args)
