"""The kernel's side of a page fault (Kernel inherits it): mm/fault.py decides what a fault
needs and maps it; here the kernel charges its time, counts it (vmstat, getrusage), shows
it to the tracer, turns no-memory into reclaim's out-of-memory handling, and, for a fault
met by a system call's copy, waits on the spot.  Also the faults taken in advance
(MAP_POPULATE, and the run of fresh pages a read() is about to fill).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from emu.cpu import PF_USER
from . import labs
from .mm import fault
from .mm.frames import PAGE_SIZE
from .mm.reclaim import Oom

if TYPE_CHECKING:
    from .proc.process import Process

FAULT_COST_NS = 500          # modelled cost of taking and handling a page fault


class PageFaults:
    """Kernel's page-fault methods (a mixin: they use the kernel's frames, reclaim, clock,
    trace and vmstat)."""

    def page_fault(self, p: Process, addr: int, error: int, from_kernel: bool = False) -> fault.FaultResult:
        result = self._page_fault(p, addr, error, from_kernel)
        while result.action is fault.Action.NO_MEMORY:
            # Each round frees frames (then the fault is tried again), waits for page-outs,
            # or kills: the loop ends, as every round either allocates or ends a process.
            decision = self.reclaim.out_of_memory(p)
            if decision is Oom.RETRY and self._thrashing(p, addr):
                # the frames came from pages p needs too: a kill must make the room
                decision = self.reclaim.out_of_memory(p, retry_if_freed=False)
                result = dataclasses.replace(result, reason=f'{result.reason}: the instruction needs '
                                             f'more pages at once than memory can hold (thrashing)')
            if decision is Oom.RETRY:
                result = self._page_fault(p, addr, error, from_kernel)
            elif decision is Oom.WAIT:
                result = fault.FaultResult(fault.Action.WAIT, queue=self.reclaim.memory_freed)
            else:
                kill = fault.Action.EFAULT if from_kernel else fault.Action.KILL
                result = fault.FaultResult(kill, result.reason, result.signal)
        while from_kernel and result.action is fault.Action.WAIT:
            # A system call's copy met a page still on its way: the kernel waits right
            # here (the copy cannot be suspended), letting device events run meanwhile.
            self._wait_here(result.queue)
            result = self._page_fault(p, addr, error, from_kernel)
        return result

    @staticmethod
    def _thrashing(p: Process, addr: int) -> bool:
        """Reclaim freed frames for p's fault by dropping clean pages.  If this page is one
        p already got that way and p has run no instruction since, reclaim is taking back
        the pages p needs together: retrying would go round for ever."""
        page = addr & ~(PAGE_SIZE - 1)
        if page in p.reclaimed_for:
            return True
        p.reclaimed_for.add(page)
        return False

    def populate(self, p: Process, start: int, end: int):
        """Fault in every page of [start, end) now (MAP_POPULATE, MAP_BLOCK): a generator
        that waits, like the system call it serves, for each page's read."""
        for va in range(start, end, 4096):
            while True:
                result = self._page_fault(p, va, PF_USER, from_kernel=True) \
                    if not p.aspace.pt.lookup(va) & 1 else None
                if result is None or result.action is not fault.Action.WAIT:
                    break
                yield result.queue
            if result is not None and result.action is fault.Action.NO_MEMORY:
                break       # best effort, as Linux's: the rest is faulted in when touched
        self.flush_tlb(p)

    def fill_zero_run(self, p: Process, va: int, npages: int) -> int:
        """A kernel copy is about to write pages va.. that were never used: demand-zero up
        to npages of them in one go (fault.fill_zero_pages).  Returns how many; 0 means
        fault them one by one (as always when tracing, so a trace shows every fault)."""
        if self.trace.enabled:
            return 0
        frames = fault.fill_zero_pages(p.aspace, self.frames, va, npages)
        for frame in frames:
            self._count_fault(fault.FaultResult(fault.Action.ZERO_FILL, frame=frame))
        self.clock.spend(FAULT_COST_NS * len(frames))
        p.usage.minflt += len(frames)
        p.usage.stime += FAULT_COST_NS * len(frames)
        return len(frames)

    def _page_fault(self, p: Process, addr: int, error: int, from_kernel: bool) -> fault.FaultResult:
        def rsp() -> int:                 # asked for only when the stack might grow
            if p is self.current:
                return self.cpu.reg('rsp')
            return self.cpu.context_reg(p.ctx, 'rsp') if p.ctx is not None else 0
        traced = self.trace.enabled and p.pid != 0     # pid 0: a program image being built
        before = p.aspace.pt.walk(addr) if traced else None
        result = fault.handle(p.aspace, self.frames, addr, error, rsp, self._around_budget(),
                              self.huge_pages and not labs.in_progress())
        if from_kernel and result.action is fault.Action.KILL:
            result = fault.FaultResult(fault.Action.EFAULT, result.reason)
        self._last_fault = result
        self.clock.now += FAULT_COST_NS
        self._count_fault(result)
        self._count_fault_to(p, result)
        if result.action in (fault.Action.COW_COPY, fault.Action.COW_REUSE, fault.Action.SPURIOUS,
                             fault.Action.OBJECT):
            self.flush_tlb(p)
        if traced:
            self._emit('fault', p, addr=addr, error=error, action=result.action.value,
                       reason=result.reason, from_kernel=from_kernel, around=len(result.around),
                       huge=result.huge,
                       before=before, after=p.aspace.pt.walk(addr),
                       rip=self.cpu.reg('rip') if p is self.current and not from_kernel else None)
        return result

    def _around_budget(self) -> int:
        """How many extra pages a fault may map around itself: none while free memory is
        near reclaim's watermarks, so that under pressure every page is demand-paged."""
        if not self.fault_around:
            return 0
        return max(0, self.frames.free_count - 2 * self.reclaim.high - len(self.reclaim.inflight))

    def _count_fault(self, result: fault.FaultResult) -> None:
        A = fault.Action
        self.vmstat['pgfault'] += 1
        if result.action in (A.FILE_READ, A.SWAP_IN):
            self.vmstat['pgmajfault'] += 1
        if result.action is A.FILE_READ:
            self.reclaim.track_file_pages((result.frame, *result.around))
        if result.action is A.SWAP_IN:
            self.vmstat['pswpin'] += 1
        if result.frame:
            self.reclaim.track(result.frame)
        if result.huge:
            self.vmstat['thp_fault_alloc'] += 1
        if result.around:
            self.vmstat['fault_around'] += len(result.around)
            self.reclaim.track_all(result.around)

    @staticmethod
    def _count_fault_to(p: Process, result: fault.FaultResult) -> None:
        """getrusage's view: a major fault is one that waited for I/O (the access is then
        tried again, and that fault is a minor one); the others are minor."""
        p.usage.stime += FAULT_COST_NS
        if result.action is fault.Action.WAIT:
            p.usage.majflt += 1
        else:
            p.usage.minflt += 1
