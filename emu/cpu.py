"""The emulated x86-64 CPU: Unicorn in long mode, walking the kernel's own page tables.

The kernel never touches Unicorn; it sees the CPU through this class: registers, control
registers, a slice of user-mode execution, and two callbacks (syscall, exception) that the
CPU calls while a slice runs.

Two Unicorn quirks shape this file (see shared/notes/unicorn.md):
  * issue #1883: an exception handled in a UC_HOOK_INTR callback is never marked delivered,
    so the next one escalates to #DF.  After every exception we patch the CPU's
    `old_exception` field back to -1 inside a saved context and restore it.  The field's
    offset inside the context blob is found at start-up by provoking a known fault.  Where
    the live CPU state itself can be found (emu/livestate.py), the field is patched there
    in place, and the fault's RIP and CR2 read there too: no call into Unicorn per fault.
  * the #PF error code is not a register; it lives in the same context blob, found the
    same way.
  * emu_start(count=N) puts a hook before every instruction (25-30x slower), and deleting
    that hook later can leave a bogus page fault pending; slices are bounded and single
    steps counted by a native counter instead (slicecount.py).  Only without it (the
    fallback) does count= bound slices, and the number of instructions it retired is then
    read from Unicorn's own state (`emu_counter`), a field found the same way.

The x87/SSE state travels as the 512-byte image the FXSAVE instruction writes (fpu.py),
built from the registers Unicorn exposes one by one: signal frames carry it, exec resets it.
What the architecture itself defines (control-register bits, MSRs, selectors, exception
vectors, the page-fault error code) is declared in x86.py.
"""

import ctypes
import operator
import struct
import sys
from typing import NamedTuple

from unicorn import Uc, UcError, UC_HOOK_INTR, UC_HOOK_INSN, UC_HOOK_CODE
from unicorn import UC_ERR_INSN_INVALID
from unicorn import x86_const as X
from unicorn.unicorn_py3.unicorn import uclib

from . import fpu, livestate
from .fpu import FXState
from .slicecount import BlockCounter, NativeBuildError, MAX_WATCHES  # noqa: F401 (the stub's)
from .x86 import (  # noqa: F401 (importers take them from here too)
    CR0, CR4, EFER, MSR_EFER, MSR_STAR, MSR_LSTAR, MSR_FMASK, Selector, Vector, PFError,
    PF_PRESENT, PF_WRITE, PF_USER, PF_FETCH,
)

PAGE_SIZE = 4096

# The same libunicorn, with no argtypes on its functions: ctypes then converts nothing and a
# call costs about 0.3 µs instead of 0.7 (the binding declares argtypes on `uclib`).  Only for
# the hot register accesses below, whose arguments are already ctypes objects or small ints.
_rawlib = ctypes.CDLL(uclib._name)
_raw_reg_read = _rawlib.uc_reg_read
_raw_reg_write = _rawlib.uc_reg_write
_raw_reg_read_batch = _rawlib.uc_reg_read_batch
# void (*uc_cb_insn_syscall_t)(uc_engine *uc, void *user_data)  (unicorn.h)
_SYSCALL_HOOK_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)


class Trap(NamedTuple):
    """An exception the CPU raised while running user code (a tuple: one is made per
    page fault, and a frozen dataclass costs three times as much to make)."""
    vector: int
    rip: int
    cr2: int = 0
    error: int = 0


# The user-visible register file saved and restored on every context switch.
USER_REGS = (
    'rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp',
    'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
    'rip', 'rflags', 'fs_base', 'gs_base',
)
_REG_ID = {name: getattr(X, 'UC_X86_REG_' + name.upper()) for name in USER_REGS}
_USER_REG_IDS = tuple(_REG_ID[n] for n in USER_REGS)
RFLAGS_IF = 1 << 9
RFLAGS_USER_MASK = 0x3C0DD5  # flags ring 3 may change (CF PF AF ZF SF TF DF OF AC ID ...)
SYSRET = b'\x48\x0f\x07'


class CPUSetupError(RuntimeError):
    """The installed Unicorn build does not behave as this CPU model needs."""


class _Reg:
    """Fast register access: one ctypes call, no per-call allocation (hot on the syscall path)."""

    def __init__(self, uc: Uc):
        self._h = uc._uch
        self._buf = ctypes.c_uint64()
        self._ref = ctypes.byref(self._buf)

    def read(self, reg_id: int) -> int:
        _raw_reg_read(self._h, reg_id, self._ref)
        return self._buf.value

    def write(self, reg_id: int, value: int) -> None:
        self._buf.value = value & 0xFFFF_FFFF_FFFF_FFFF
        _raw_reg_write(self._h, reg_id, self._ref)


class _RegBatch:
    """Read a fixed list of registers in one call into Unicorn (uc_reg_read_batch)."""

    def __init__(self, uc: Uc, reg_ids: tuple[int, ...]):
        n = len(reg_ids)
        self._h = uc._uch
        self._ids = (ctypes.c_int * n)(*reg_ids)
        self._vals = (ctypes.c_uint64 * n)()
        self._ptrs = (ctypes.c_void_p * n)(*(ctypes.addressof(self._vals) + 8 * i for i in range(n)))
        self._n = ctypes.c_int(n)
        self._words = memoryview(self._vals).cast('B').cast('Q')   # tolist() is the fastest copy out

    def read(self) -> list[int]:
        _raw_reg_read_batch(self._h, self._ids, self._ptrs, self._n)
        return self._words.tolist()


class CPU:
    """One x86-64 CPU.  `run()` executes user code until the kernel asks it to stop."""

    def __init__(self, uc: Uc, trampoline_va: int, clock=None):
        self.uc = uc
        self._clock = clock               # emu.clock.Clock: RDTSC reads it (slicecount.c)
        self._reg = _Reg(uc)
        self._syscall_regs = _RegBatch(uc, (X.UC_X86_REG_RAX, X.UC_X86_REG_RDI, X.UC_X86_REG_RSI,
                                            X.UC_X86_REG_RDX, X.UC_X86_REG_R10, X.UC_X86_REG_R8,
                                            X.UC_X86_REG_R9))
        self._user_regs = _RegBatch(uc, _USER_REG_IDS)
        self._gprs = None             # the sixteen registers in place, once calibrate finds them
        self.on_syscall = None        # callable() -> bool: True keeps running
        self.on_trap = None           # callable(Trap) -> bool: True resumes the instruction
        self._stopping = False
        self._interrupted = False     # interrupt() from another thread: end the slice
        self._trap: Trap | None = None
        self._trampoline_va = trampoline_va
        self._entry = None
        self._count = 0
        self._calibrating = False
        self._ctx = None
        self._ctx_words = None
        self._old_exception_off = 0
        self._error_off = 0
        self._live = None             # livestate.LiveState: the fields below, in place
        self._live_rip = self._live_cr2 = None
        self._counter = None
        self._native = _native_counter(uc)   # first: its exception callback runs before ours
        self._native_counting = False
        self._mp = None                   # CR0.MP as last set by _select_blocks (None: unknown)
        self._count_hook = False          # Unicorn's per-instruction counting hook is in place
        self._stepping = False            # translated code carries the native step hook
        self.ended_by_kernel = False      # the last slice was ended by a callback (not a count)
        uc.hook_add(UC_HOOK_INTR, self._hook_intr)
        self._syscall_hook = self._add_syscall_hook()

    # -- registers ----------------------------------------------------------------------
    def reg(self, name: str) -> int:
        return self._reg.read(_REG_ID[name])

    def set_reg(self, name: str, value: int) -> None:
        self._reg.write(_REG_ID[name], value)

    def syscall_args(self) -> list[int]:
        """rax (the number) and the six argument registers of the Linux x86-64 ABI."""
        return self._syscall_regs.read()

    def set_return(self, value: int) -> None:
        self._reg.write(X.UC_X86_REG_RAX, value)

    # The same two, on the registers in place (livestate.py); calibrate puts them in.
    def _syscall_args_in_place(self, _pick=operator.itemgetter(*livestate.SYSCALL_GPRS)) -> tuple[int, ...]:
        return _pick(self._gprs)

    def _set_return_in_place(self, value: int) -> None:
        self._gprs[0] = value & 0xFFFF_FFFF_FFFF_FFFF

    def save_user_regs(self) -> list[int]:
        return self._user_regs.read()

    def load_user_regs(self, regs: list[int]) -> None:
        w = self._reg.write
        for i, v in zip(_USER_REG_IDS, regs):
            w(i, v)

    # -- whole-CPU contexts: one per process ---------------------------------------------
    # A context holds everything a process owns in the CPU: general registers, flags,
    # segment bases, x87/SSE state, CR3.  Switching processes swaps contexts in C.
    def new_context(self):
        """A copy of the CPU's current state, to be filled in for a new process."""
        ctx = self.uc.context_save()
        ctx.ukern_mp = self._mp           # CR0.MP inside it (see _select_blocks)
        return ctx

    def save_context(self, ctx) -> None:
        self.uc.context_update(ctx)
        ctx.ukern_mp = self._mp

    def load_context(self, ctx, cr3: int) -> None:
        """Restore a context and switch to the page tables at `cr3`.  (CR3 is not written
        into contexts: Unicorn would flush a TLB that a saved context does not have.)"""
        self.uc.context_restore(ctx)
        self._mp = getattr(ctx, 'ukern_mp', None)     # the context brought its own CR0
        # Unicorn's TLB is not part of a context: writing CR3 flushes any stale translation.
        self.cr3 = cr3

    # -- x87/SSE state as an FXSAVE image ------------------------------------------------
    def fxsave(self) -> FXState:
        """The running process's x87/SSE state, as FXSAVE would store it."""
        return fpu.fxsave(fpu.RegIO(self.uc))

    def fxrstor(self, fx: FXState) -> None:
        """Load the x87/SSE state from an image (the caller has checked MXCSR against
        MXCSR_MASK, where FXRSTOR would raise #GP)."""
        fpu.fxrstor(fpu.RegIO(self.uc), fx)

    def set_context_fxstate(self, ctx, fx: FXState) -> None:
        """The same, into a saved context (a process about to start)."""
        fpu.fxrstor(fpu.RegIO(self.uc, ctx), fx)

    @staticmethod
    def context_reg(ctx, name: str) -> int:
        return ctx.reg_read(_REG_ID[name])

    @staticmethod
    def set_context_reg(ctx, name: str, value: int) -> None:
        ctx.reg_write(_REG_ID[name], value & 0xFFFF_FFFF_FFFF_FFFF)

    # -- debugger support --------------------------------------------------------------------
    def add_breakpoint(self, addr: int, callback) -> int:
        """Call callback(addr) before the instruction at `addr` runs; returns a handle."""
        handle = self.uc.hook_add(UC_HOOK_CODE, lambda uc, a, size, user: callback(a), None, addr, addr)
        self.flush_code_cache()          # code translated before the hook would not call it
        return handle

    def remove_breakpoint(self, handle: int) -> None:
        self.uc.hook_del(handle)
        self.flush_code_cache()

    # Watchpoints (slicecount.py): while single-stepping, the native counter compares each
    # watched value before every instruction and stops right after the one that changed
    # it.  (Unicorn's memory hooks miss the accesses its TLB serves once paging is on.)
    def set_watches(self, watches: list[tuple[int, int, int | None]]) -> None:
        """Watch these (address, length of 1 to 8, value now or None if unreadable), in the
        address space of the slices to come; an empty list: none."""
        if self._native is None:
            raise CPUSetupError('watchpoints need the native counter')
        self._native.set_watches(watches)

    def watch_in_slice(self, on: bool) -> None:
        """Check the watches in the slices to come (the watched process runs) or not."""
        if self._native is not None:
            self._native.check_watches(on)

    def hide_watches(self, hidden: list[bool]) -> None:
        """Which watches lie in pages the debugger hides now, not to be read ([]: none)."""
        if self._native is not None:
            self._native.hide_watches(hidden)

    def watch_changed_now(self) -> bool:
        """From a callback: has a watched value changed?  (watch_hit() then says which.)"""
        return self._native is not None and self._native.check_watches_now()

    def watch_hit(self) -> int | None:
        """The index of the watch whose value the last slice changed (then cleared)."""
        return self._native.take_watch_hit() if self._native is not None else None

    def stop_before_instruction(self, addr: int) -> None:
        """From a code hook at `addr`: end the slice before that instruction runs.  (A
        single step has already counted it as begun when it was let through: it is not.)"""
        state = self._native.state if self._stepping and self._native is not None else None
        if state is not None and state.stepped and state.step_pc == addr:
            state.stepped -= 1
        self.stop()

    def vector_reg(self, name: str) -> int:
        """An SSE register (xmm0-15) or MXCSR of the running process, for debuggers."""
        return self.uc.reg_read(getattr(X, f'UC_X86_REG_{name.upper()}'))

    @property
    def cr2(self) -> int:
        return self._reg.read(X.UC_X86_REG_CR2)

    @property
    def cr3(self) -> int:
        return self._reg.read(X.UC_X86_REG_CR3)

    @cr3.setter
    def cr3(self, value: int) -> None:
        # Rewriting CR3 also flushes the emulated TLB, as on hardware without PCID.
        self._reg.write(X.UC_X86_REG_CR3, value)

    def flush_tlb(self) -> None:
        self.cr3 = self.cr3

    def flush_code_cache(self) -> None:
        """Drop translated code: needed after the kernel rewrites a frame that held code."""
        self.uc.ctl(10, 1)  # UC_CTL_TB_FLUSH, UC_CTL_IO_WRITE
        if self._native is not None:
            self._native.forget_blocks()

    # -- mode set-up ----------------------------------------------------------------------
    def enter_long_mode(self, pml4: int) -> None:
        """Paging on with the kernel's tables; syscall/sysret and NX enabled."""
        w, r = self._reg.write, self._reg.read
        w(X.UC_X86_REG_CR4, r(X.UC_X86_REG_CR4) | CR4.PAE | CR4.OSFXSR | CR4.OSXMMEXCPT)
        w(X.UC_X86_REG_CR3, pml4)
        w(X.UC_X86_REG_CR0, r(X.UC_X86_REG_CR0) | CR0.PE | CR0.PG | CR0.WP | CR0.NE | CR0.MP)
        self._mp = None
        self.uc.msr_write(MSR_EFER, self.uc.msr_read(MSR_EFER) | EFER.SCE | EFER.NXE | EFER.LME | EFER.LMA)
        self.uc.msr_write(MSR_STAR, (Selector.SYSRET_BASE << 48) | (Selector.KERNEL_CODE << 32))

    def enter_user(self, rip: int, rsp: int, rflags: int = 0x202) -> None:
        """Enter CPL 3 the way a real kernel does: `sysretq` from the supervisor trampoline.

        The first slice starts in the trampoline and runs on into user code; the CPU then
        stays at CPL 3 for good, and a context switch only swaps the register file.
        """
        w = self._reg.write
        w(X.UC_X86_REG_RCX, rip)
        w(X.UC_X86_REG_R11, rflags)
        w(X.UC_X86_REG_RSP, rsp)
        self._entry = self._trampoline_va

    # -- running --------------------------------------------------------------------------
    def run(self, rip: int, count: int = 0, timeout_ms: int = 0,
            exact: bool = False, steps: int | None = None) -> tuple[Trap | None, int]:
        """Run user code from `rip` until a callback stops it, or for about `count`
        instructions, or (for interactive use only: it is not deterministic) `timeout_ms` of
        host time.

        A count is kept by the native block counter (slicecount.py): the slice stops at the
        first block boundary after `count` instructions, so it runs at least `count` and
        less than one translated block more.  With `exact` (single-stepping) the slice
        stops after exactly `count` instructions begun, by an instruction hook.  Without the
        native counter, Unicorn's count= counts every instruction (25-30x slower).

        With `steps` (the debugger) a counted slice is also single-stepped: it ends as a
        counted slice does, or after `steps` instructions begun, or when a watched value
        changes (set_watches), whichever comes first, and stepped() tells exactly how far
        it is from inside.

        Returns the trap that ended the slice (None if a callback stopped it or the count
        ran out) and the instructions retired (0 when the slice was not counted).
        """
        start, self._entry = (self._entry or rip), None
        native = self._native
        unicorn_count = count if native is None else 0
        self._leave_or_enter_count_hook(start, bool(unicorn_count))
        both = steps is not None and bool(count) and native is not None
        stepping = bool(count) and (exact or both) and native is not None
        self._step_blocks(stepping)
        self._count = count
        self._native_counting = bool(count) and (not exact or both) and native is not None
        self._select_blocks(counted=self._native_counting)
        if native is not None and self._clock is not None:
            native.set_time(self._clock.now)
        if self._native_counting:
            native.begin(count)
        if stepping:
            native.step_begin(steps if both else count)
        self.ended_by_kernel = False
        self._stopping = False
        self._trap = None
        natively = self._native_counting
        try:
            self._clear_pending_exception()  # a stop leaves old_exception set (found by experiment)
            while True:
                try:
                    self.uc.emu_start(start, self._trampoline_va + TRAMPOLINE_STOP,
                                      timeout=timeout_ms * 1000, count=unicorn_count)
                except UcError as e:
                    self._trap_from_error(e)
                if self._stopping or self._trap or count or timeout_ms or self._interrupted:
                    break
                # An uncounted slice right after a counted one may stop once by itself while
                # Unicorn removes its counting hook: nothing happened, so carry on.
                start = self._reg.read(X.UC_X86_REG_RIP)
        finally:
            self._interrupted = False
            if stepping:
                retired = native.step_end()
            if natively:                # (even if a callback raised: close the hook's range)
                self._native_counting = False
                retired = native.end()
        if natively or stepping:
            return self._trap, retired
        return self._trap, self.retired()

    def interrupt(self) -> None:
        """From another thread (the host's Ctrl-C): end the running slice soon, so that the
        kernel gets control back from a guest that makes no system call.  A call between
        slices only makes the next slice end early; the caller repeats it until heard."""
        self._interrupted = True
        self.uc.emu_stop()

    def _step_blocks(self, stepping: bool) -> None:
        """Single steps run blocks translated with the instruction hook's call: translated
        code is dropped on the way into stepping and on the way out."""
        if stepping != self._stepping:
            self.flush_code_cache()
            self._stepping = stepping

    def _leave_or_enter_count_hook(self, start: int, per_insn: bool) -> None:
        """Without the native counter: Unicorn's count= adds a hook before every instruction,
        but only into code it translates from then on, so entering that mode drops
        translated code first.  Leaving it, Unicorn removes the hook and drops translated
        code at the next emu_start, and that start leaves old_exception set (found by
        experiment): let it happen in an empty run (run() then clears old_exception)."""
        if per_insn and not self._count_hook:
            self.flush_code_cache()
        elif self._count_hook and not per_insn:
            self.uc.emu_start(start, start)
        self._count_hook = per_insn

    def _select_blocks(self, counted: bool) -> None:
        """Counted slices run their own translated blocks, which call the block counter;
        uncounted ones run blocks without that call, at full speed.  Unicorn keys a block by
        the CPU flags it was translated under, and CR0.MP is one of them that changes nothing
        here (it only matters for WAIT while CR0.TS is set, and TS is never set): it is clear
        in counted slices.  So both kinds of blocks stay translated side by side and going
        from one kind of slice to the other costs nothing.  (A guest can see the bit only
        through SMSW.)  ukern's build of Unicorn (unicorn_build.py) counts in the blocks
        translated while a counter is set, so it relies on the same split."""
        mp = 0 if counted else int(CR0.MP)
        if self._mp != mp:
            cr0 = self._reg.read(X.UC_X86_REG_CR0)
            self._reg.write(X.UC_X86_REG_CR0, (cr0 & ~int(CR0.MP)) | mp)
            self._mp = mp

    @property
    def counting(self) -> bool:
        """Is the running slice counting its instructions?"""
        return bool(self._count)

    def stepped(self) -> int:
        """From a hook in a single-stepped slice: the instructions begun so far."""
        return self._native.state.stepped

    def retired(self) -> int:
        """Instructions the running slice has retired so far (0 if it is not counted)."""
        if self._native_counting:
            return self._native.so_far()
        if self._stepping:
            return self._native.state.stepped
        if not self._count or self._counter is None:
            return 0
        return min(self._counter[0], self._count)

    def _trap_from_error(self, e: UcError) -> None:
        rip = self._reg.read(X.UC_X86_REG_RIP)
        if e.errno == UC_ERR_INSN_INVALID:
            self._trap = Trap(Vector.INVALID_OPCODE, rip)
        else:
            # Unicorn refused an access outside guest RAM: the kernel's tables never point
            # there, so this is a machine check rather than anything the guest can cause.
            self._trap = Trap(Vector.MACHINE_CHECK, rip)
        self._stopping = True

    def stop(self) -> None:
        """From a callback: end the slice after the current instruction."""
        self._stopping = True
        self.uc.emu_stop()

    def _add_syscall_hook(self):
        """Hook `syscall` with a bare ctypes callback rather than through the binding's
        hook_add, whose two wrapper layers cost about as much as the rest of a fast system
        call.  Its one duty is kept: an exception in the callback is kept in the Uc object
        (which emu_start raises once Unicorn returns) and the emulation stops."""
        hook = _SYSCALL_HOOK_FN(self._hook_syscall)
        handle = ctypes.c_size_t()
        status = uclib.uc_hook_add(self.uc._uch, ctypes.byref(handle), UC_HOOK_INSN, hook, None,
                                   ctypes.c_uint64(1), ctypes.c_uint64(0), X.UC_X86_INS_SYSCALL)
        if status:
            raise UcError(status)
        return hook                      # ctypes must keep it alive as long as the hook is in

    def _hook_syscall(self, _uch, _user):
        try:
            if not self._stopping and not self.on_syscall():
                self.ended_by_kernel = True
                self.stop()
        except BaseException as e:
            if self.uc._hook_exception is None:
                self.uc._hook_exception = e
            self.uc.emu_stop()

    def _hook_intr(self, uc, intno, _user):
        # (every page fault comes here: plain ints, no enum lookups, no calls into Unicorn
        # when the live CPU state is known)
        if self._calibrating:
            self._learn_fault_fields(intno)
        live = self._live
        if live is not None and self._old_exception_off is not None:
            error = live.words[self._error_off]          # _clear_pending_exception, in place
            live.words[self._old_exception_off] = -1
            error &= 0xFFFF_FFFF
        else:
            error = self._clear_pending_exception()
        if self._stopping:
            # emu_stop only takes effect at the end of the translation block, so the same
            # instruction may fault again; it will be retried when the process next runs.
            return
        if self._live_rip is not None:
            rip = self._live_rip.value
            cr2 = self._live_cr2.value if intno == _PAGE_FAULT else 0
        else:
            rip = self._reg.read(X.UC_X86_REG_RIP)
            cr2 = self._reg.read(X.UC_X86_REG_CR2) if intno == _PAGE_FAULT else 0
        trap = Trap(intno, rip, cr2, error if intno in _HAS_ERROR_CODE else 0)
        if not self.on_trap(trap):
            self._trap = trap
            self.ended_by_kernel = True
            self.stop()

    # -- the #1883 work-around ------------------------------------------------------------
    def _clear_pending_exception(self) -> int:
        """Mark the last exception delivered (old_exception = -1); return its error code."""
        if self._old_exception_off is None:
            return 0
        live = self._live
        if live is not None:                  # in place: no call into Unicorn
            error = live.words[self._error_off]
            live.words[self._old_exception_off] = -1
            return error & 0xFFFF_FFFF
        self.uc.context_update(self._ctx)
        words = self._ctx_words
        error = words[self._error_off]
        words[self._old_exception_off] = -1
        self.uc.context_restore(self._ctx)
        return error & 0xFFFF_FFFF

    # -- start-up calibration -------------------------------------------------------------
    def calibrate(self, probe: 'Probe') -> None:
        """Find where this Unicorn build keeps old_exception, the #PF error code and its
        instruction counter, by running a probe program whose faults are known."""
        self._ctx = self.uc.context_save()
        addr = ctypes.cast(self._ctx.context, ctypes.c_void_p).value
        self._ctx_words = (ctypes.c_int32 * (self._ctx.size // 4)).from_address(addr)
        self._before = bytes(self._ctx_words)
        self._old_exception_off = None
        self._snapshots = []
        self._calibrating = True
        self.on_trap = lambda trap: probe.fix_fault(len(self._snapshots))
        self.on_syscall = lambda: False
        self.enter_user(probe.entry, probe.stack)
        self.run(probe.entry)
        self._error_off = _find_error_field(self._snapshots, probe.expected_errors)
        self._calibrating = False
        del self._snapshots, self._before
        self._find_live_state()
        if self._native is None:          # the fallback needs Unicorn's own counter
            self._counter = _find_counter(self, probe)
        self.on_trap = self.on_syscall = None

    def _find_live_state(self) -> None:
        """Patch old_exception and read RIP, CR2 and the error code in Unicorn's live CPU
        state when it can be found and proved (emu/livestate.py); else keep the round trip."""
        live = livestate.find(self.uc, self._ctx)
        rip = livestate.field_offset(self.uc, self._ctx, X.UC_X86_REG_RIP) if live else None
        cr2 = livestate.field_offset(self.uc, self._ctx, X.UC_X86_REG_CR2) if live else None
        if live is None or rip is None or cr2 is None:
            return
        self._live, self._live_rip, self._live_cr2 = live, live.u64(rip), live.u64(cr2)
        self._gprs = livestate.gprs(self.uc, self._ctx, live)
        if self._gprs is not None:
            self.syscall_args = self._syscall_args_in_place
            self.set_return = self._set_return_in_place

    def _learn_fault_fields(self, intno: int) -> None:
        """First fault of the probe: old_exception is the word that went from -1 to the vector."""
        self.uc.context_update(self._ctx)
        blob = bytes(self._ctx_words)
        self._snapshots.append(blob)
        n = len(blob) // 4
        now, before = struct.unpack(f'<{n}i', blob), struct.unpack(f'<{n}i', self._before)
        cands = [i for i in range(n) if before[i] == -1 and now[i] == intno]
        if not cands:
            raise CPUSetupError('cannot find old_exception in Unicorn\'s CPU context; this '
                                'Unicorn build is not supported (see shared/notes/unicorn.md)')
        self._old_exception_off = cands[0]


def _native_counter(uc: Uc) -> BlockCounter | None:
    """The native block counter, or None (and a one-line warning, once) if it cannot be built."""
    global _warned_no_native
    try:
        return BlockCounter(uc)
    except NativeBuildError as e:
        if not _warned_no_native:
            _warned_no_native = True
            print(f'ukern: {e}; bounding time slices with Unicorn\'s count= instead (much slower)',
                  file=sys.stderr)
        return None


_warned_no_native = False


class Probe:
    """The calibration program's layout, built by the Machine (see machine.py)."""
    entry: int
    stack: int
    nop_sled: int
    expected_errors: tuple[int, ...]

    def fix_fault(self, n: int) -> bool: ...


def _find_error_field(snapshots: list[bytes], expected: tuple[int, ...]) -> int:
    if len(snapshots) != len(expected):
        raise CPUSetupError(f'calibration saw {len(snapshots)} page faults, expected {len(expected)}')
    n = len(snapshots[0]) // 4
    cands = set(range(n))
    for blob, err in zip(snapshots, expected):
        words = struct.unpack(f'<{n}i', blob)
        cands &= {i for i in range(n) if words[i] == err}
    if not cands:
        raise CPUSetupError('cannot find the #PF error code in Unicorn\'s CPU context')
    return min(cands)


def _find_counter(cpu: CPU, probe: Probe):
    """Unicorn counts a limited slice's instructions in uc_struct.emu_counter, followed by
    emu_count (uc_priv.h).  Run two known counts and find the pair."""
    engine = ctypes.cast(cpu.uc._uch, ctypes.c_void_p).value
    window = (ctypes.c_uint64 * COUNTER_SEARCH_WORDS).from_address(engine)
    found = None
    for n in (7, 13):
        cpu.on_trap = lambda t: False
        cpu.run(probe.nop_sled, count=n, exact=True)
        # The counting hook stops the slice when it meets instruction n+1, having counted it.
        hits = {i for i in range(COUNTER_SEARCH_WORDS - 1) if window[i] == n + 1 and window[i + 1] == n}
        found = hits if found is None else found & hits
    if len(found or ()) != 1:
        raise CPUSetupError('cannot find Unicorn\'s instruction counter (emu_counter)')
    return (ctypes.c_uint64 * 1).from_address(engine + found.pop() * 8)


COUNTER_SEARCH_WORDS = 4096
TRAMPOLINE_STOP = 0x800   # an address in the trampoline page that is never executed
_HAS_ERROR_CODE = frozenset(int(v) for v in (Vector.PAGE_FAULT, Vector.GENERAL_PROTECTION,
                                              Vector.DOUBLE_FAULT, 10, 11, 12, 17))
_PAGE_FAULT = int(Vector.PAGE_FAULT)
