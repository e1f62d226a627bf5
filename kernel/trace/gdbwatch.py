"""Read and access watchpoints for the gdb stub (gdb's rwatch and awatch: packets Z3 and Z4),
made by hiding pages.

Unicorn does not call its memory hooks for the accesses its TLB serves once paging is on,
so a read cannot be seen as it happens.  Instead, while the watched process runs a slice,
the page-table entry of every page that holds a watched range has its Present bit cleared
(and the TLB is flushed): the first access to such a page faults.  That fault is the
stub's, never the kernel's, and it goes like this:

  1. the slice ends at the faulting instruction, as the kernel's own fault path ends it
     (a second handled fault in one emu_start would become a double fault: see
     shared/notes/unicorn.md);
  2. the hidden pages are shown again at every slice end (GdbStub.slice_over, called by the
     kernel right after the CPU returns), before any kernel code looks at the tables;
     inside a slice, the CPU's two ways into the kernel (a system call, a fault the kernel
     handles) show them first and hide them again when the process goes on;
  3. the next slice of that process single-steps exactly that instruction, pages shown;
  4. then, if the access (CR2 and the size of the instruction's memory operand, from
     capstone) overlaps a watched range and its kind matches (rwatch: a read; awatch: a read
     or a write; an instruction fetch never), the stub stops with `rwatch:ADDR` or
     `awatch:ADDR`: after the instruction, as x86's debug registers trap after the access.
     An access to anything else in the page (a neighbour variable) goes on silently.

So the kernel never sees a hidden entry, and the fault reaches neither the process (no
SIGSEGV) nor the kernel's fault statistics or --faults views.  A page that is not present
for the kernel's own reasons (never touched yet, swapped out) is not hidden: the kernel's
fault brings it in first, and it is hidden from the next entry back into the process on.
Accesses the kernel makes for the process (read() into a watched variable) are not seen,
as hardware watchpoints do not see them under Linux either.
"""

import enum
from functools import cache
from typing import NamedTuple

from emu.cpu import Vector, PFError, Trap
from ..mm.frames import PAGE_SIZE
from ..mm.pagetable import PTE, USER_TOP
from .peek import MemoryPeek

MAX_ACCESS_WATCHES = 4            # as many as x86's debug registers
MAX_ACCESS_LEN = 16 * PAGE_SIZE   # a range is watched by hiding its pages: keep it small
MAX_INSN = 15                     # the longest x86 instruction


class Kind(enum.Enum):
    """What a watch stops on; the value is its name in gdb's stop reply."""
    READ = 'rwatch'               # Z3
    ACCESS = 'awatch'             # Z4


class Watch(NamedTuple):
    kind: Kind
    addr: int
    length: int


class Pending(NamedTuple):
    """A fault on a hidden page, waiting for its instruction to be single-stepped."""
    pid: int
    rip: int
    cr2: int
    error: int


def pages_of(addr: int, length: int) -> range:
    first = addr & ~(PAGE_SIZE - 1)
    return range(first, addr + length, PAGE_SIZE)


@cache
def _decoder():
    import capstone                    # (only a session with an rwatch loads it)
    cs = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    cs.detail = True
    return cs, capstone.x86.X86_OP_MEM, capstone.CsError


def access_size(code: bytes, rip: int) -> int:
    """The size of the widest memory operand of the instruction in `code`; 1 when it cannot
    be decoded (the access is then taken as CR2's byte alone)."""
    cs, mem, error = _decoder()
    try:
        for insn in cs.disasm(code, rip, 1):
            return max((op.size for op in insn.operands if op.type == mem), default=1) or 1
    except error:
        pass
    return 1


class AccessWatches:
    """The read and access watchpoints of one address space, and the pages they hide."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.watches: list[Watch] = []
        self.pending: Pending | None = None
        self.stepping = False               # the slice running is a pending fault's step
        self._hidden: list[int] = []        # page addresses whose Present bit is clear now
        self._aspace = None                 # ... in this address space
        self._writes = []                   # the stub's write watches (address, length) ...
        self._writes_hidden = False         # ... some of them in hidden pages
        self._kernel_entries = None         # the CPU's (on_syscall, on_trap) while hidden

    # -- the watch list (Z3/z3, Z4/z4) ----------------------------------------------------
    def add(self, kind: Kind, addr: int, length: int) -> bool:
        w = Watch(kind, addr, length)
        if w in self.watches:
            return True
        if (not 1 <= length <= MAX_ACCESS_LEN or addr + length > USER_TOP
                or len(self.watches) >= MAX_ACCESS_WATCHES):
            return False                     # (only user pages are ever hidden)
        self.watches.append(w)
        return True

    def remove(self, kind: Kind, addr: int, length: int) -> None:
        w = Watch(kind, addr, length)
        if w in self.watches:
            self.watches.remove(w)

    def clear(self) -> None:
        self.uncover()
        self.watches = []
        self.pending = None
        self.stepping = False

    # -- hiding and showing pages ------------------------------------------------------------
    def cover(self, p, aspace, writes: list[tuple[int, int]]) -> None:
        """Before p runs on: hide the watched pages if p runs in the watched address space.
        `writes`: the write watches (Z2), which the CPU must not read in a hidden page."""
        if not self.watches or p is None or p.aspace is not aspace:
            return
        pt = aspace.pt
        for va in sorted({va for w in self.watches for va in pages_of(w.addr, w.length)}):
            pte = pt.lookup(va)
            if pte & (PTE.P | PTE.U) == PTE.P | PTE.U:    # present for the kernel: hide it
                pt.update(va, pte & ~PTE.P)
                self._hidden.append(va)
        self._aspace, self._writes = aspace, writes
        cpu = self.kernel.cpu
        if self._hidden:
            cpu.flush_tlb()                  # the CPU may hold the entries just cleared
            hidden = [any(va in self._hidden for va in pages_of(a, n)) for a, n in writes]
            if any(hidden):
                cpu.hide_watches(hidden)
                self._writes_hidden = True
        # (even with nothing hidden yet: a page the kernel brings in is hidden on the way out)
        if self._kernel_entries is None:
            self._kernel_entries = (cpu.on_syscall, cpu.on_trap)
            cpu.on_syscall, cpu.on_trap = self._enter_by_syscall, self._enter_by_trap

    def uncover(self) -> None:
        """Show every hidden page again (the kernel is about to look at the tables).  No TLB
        flush is needed: a CPU does not keep entries that were not present."""
        if self._hidden:
            pt = self._aspace.pt
            for va in self._hidden:
                pt.update(va, pt.lookup(va) | PTE.P)
            self._hidden = []
        if self._writes_hidden:
            self.kernel.cpu.hide_watches([])
            self._writes_hidden = False
        if self._kernel_entries is not None:
            cpu = self.kernel.cpu
            cpu.on_syscall, cpu.on_trap = self._kernel_entries
            self._kernel_entries = None

    # -- the CPU's ways into the kernel while pages are hidden ------------------------------
    def _enter_by_syscall(self) -> bool:
        aspace, on_syscall, writes_hidden = self._aspace, self._kernel_entries[0], self._writes_hidden
        self.uncover()
        go_on = on_syscall()
        if writes_hidden and self.kernel.cpu.watch_changed_now():
            self.kernel.cpu.stop()           # the call wrote a write-watched value: stop after it
        elif go_on:
            self.cover(self.kernel.current, aspace, self._writes)
        return go_on

    def _enter_by_trap(self, trap: Trap) -> bool:
        """A fault on a hidden page is ours: end the slice there (the instruction is retried,
        single-stepped, in the next one).  Anything else goes to the kernel, pages shown."""
        if (trap.vector == Vector.PAGE_FAULT and not trap.error & PFError.PRESENT
                and (trap.cr2 & ~(PAGE_SIZE - 1)) in self._hidden):
            self.pending = Pending(self.kernel.current.pid, trap.rip, trap.cr2, trap.error)
            self.kernel.cpu.stop()
            return True                      # (not the kernel's trap: nothing to report)
        aspace, on_trap = self._aspace, self._kernel_entries[1]
        self.uncover()
        go_on = on_trap(trap)
        if go_on:
            self.cover(self.kernel.current, aspace, self._writes)
        return go_on

    # -- the step after a fault -----------------------------------------------------------------
    def step_due(self, p) -> bool:
        """Is p's next slice the single step of its faulting instruction?"""
        self.stepping = self.pending is not None and self.pending.pid == p.pid
        return self.stepping

    def after_step(self, p, retired: int) -> str | None:
        """The step is over: the stop reply's reason (`rwatch:ADDR;`) if the access hit a
        watch, else None.  A step that did not complete (the kernel's own fault on another
        page, a signal) is forgotten: the instruction faults on the hidden page again."""
        pending, self.pending, self.stepping = self.pending, None, False
        if retired <= 0 or pending.error & PFError.FETCH:
            return None
        code = MemoryPeek(self.kernel, p.pid).read(pending.rip, MAX_INSN) or b''
        first, end = pending.cr2, pending.cr2 + access_size(code, pending.rip)
        write = bool(pending.error & PFError.WRITE)
        for w in self.watches:
            if w.addr < end and first < w.addr + w.length and (w.kind is Kind.ACCESS or not write):
                return f'{w.kind.value}:{w.addr:x};'
        return None

    def state(self) -> list[tuple[str, int, int]]:
        return [(w.kind.value, w.addr, w.length) for w in self.watches]

    def load(self, watches) -> None:
        self.clear()
        self.watches = [Watch(Kind(k), a, n) for k, a, n in watches]
