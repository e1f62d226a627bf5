"""Counting a slice's instructions one translated block at a time, in native code.

emu/native/slicecount.c holds a UC_HOOK_BLOCK callback that counts the instructions a slice
retires and stops the CPU once it has run its budget, a UC_HOOK_INTR callback that charges
the part of a block an exception cut short, a UC_HOOK_CODE callback for single steps (which
also compares the debugger's watched values before each instruction), and
UC_HOOK_INSN callbacks that make RDTSC and RDTSCP read the virtual clock (Unicorn would give
the host's time-stamp counter, and a run would not be deterministic).
On ukern's build of Unicorn (unicorn_build.py) Unicorn counts the blocks itself,
into the same structure and by the same rules, without the block hook's call.
This file builds it with the zig compiler ukern already depends on (`python -m ziglang cc`),
the first time it is needed, into build/native/ (or ~/.cache/ukern/native when the source
tree is read-only; UKERN_NATIVE_DIR overrides both), loads it with ctypes and registers the
callbacks with Unicorn by their C addresses, so no Python runs per block.  The CPU (cpu.py)
uses it to bound slices; if it cannot be built, the CPU falls back to Unicorn's own count=
(25-30 times slower on tight loops) and says so once.

Why the hooks stay registered for good: Unicorn puts hook calls into the code it translates,
and keeps translated code when hooks are added, so a hook added later would miss every block
translated before; and deleting a hook walks the pages it was in (see slicecount.c).  So the
hooks are registered once, at start-up, with an address range that matches nothing, and the
C side opens the range while a slice is counted (or a step taken) and closes it after.
"""

import ctypes
import importlib.util
import os
import sys
import zlib
from pathlib import Path

from unicorn import Uc, UC_HOOK_BLOCK, UC_HOOK_CODE, UC_HOOK_INSN, UC_HOOK_INTR
from unicorn import x86_const as X
from unicorn.unicorn_py3.unicorn import uclib

SOURCE = Path(__file__).resolve().parent / 'native' / 'slicecount.c'


class NativeBuildError(RuntimeError):
    """The native counter could not be built or loaded."""


MAX_WATCHES = 4                     # slicecount.c


class Watch(ctypes.Structure):
    """struct watch (slicecount.c): a watched range of at most 8 bytes and its last value."""
    _fields_ = [('addr', ctypes.c_uint64), ('len', ctypes.c_uint64), ('known', ctypes.c_uint64),
                ('value', ctypes.c_uint64), ('hidden', ctypes.c_uint64)]


class _Counter(ctypes.Structure):
    """The head of struct slice_counter (slicecount.c): the fields Python reads and writes."""
    _fields_ = [('budget', ctypes.c_uint64), ('retired', ctypes.c_uint64),
                ('block_icount', ctypes.c_uint64), ('block_pc', ctypes.c_uint64),
                ('block_size', ctypes.c_uint64), ('misses', ctypes.c_uint64),
                ('cuts', ctypes.c_uint64), ('undecoded', ctypes.c_uint64),
                ('steps', ctypes.c_uint64), ('stepped', ctypes.c_uint64),
                ('tsc_base', ctypes.c_uint64), ('tsc_last', ctypes.c_uint64),
                ('step_pc', ctypes.c_uint64), ('watch_count', ctypes.c_uint64),
                ('watch_hit', ctypes.c_uint64), ('watches', Watch * MAX_WATCHES)]


def _cache_dirs() -> list[Path]:
    if os.environ.get('UKERN_NATIVE_DIR'):
        return [Path(os.environ['UKERN_NATIVE_DIR'])]
    xdg = Path(os.environ.get('XDG_CACHE_HOME') or Path.home() / '.cache')
    return [SOURCE.parent.parent.parent / 'build' / 'native', xdg / 'ukern' / 'native']


def _build(out: Path) -> None:
    """Compile slicecount.c into the shared library `out` (atomically: others may load it)."""
    import subprocess                  # (only the first run builds: start-up stays light)
    tmp = out.with_name(f'{out.name}.{os.getpid()}.tmp')
    cmd = [sys.executable, '-m', 'ziglang', 'cc', '-shared', '-O2', '-fPIC', '-fomit-frame-pointer', '-o', str(tmp),
           str(SOURCE), '-ldl']
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise NativeBuildError(f'cannot run the zig compiler: {e}') from None
    if r.returncode != 0:
        tmp.unlink(missing_ok=True)
        why = (r.stderr.strip().splitlines() or ['(no message)'])[-1]
        raise NativeBuildError(f'zig cc failed on {SOURCE.name}: {why}')
    os.replace(tmp, out)


def library_path() -> Path:
    """The built library, built now if it is not there yet (raises NativeBuildError)."""
    tag = f'{zlib.crc32(SOURCE.read_bytes()):08x}'      # a new source builds a new library
    built = [d / f'slicecount-{tag}.so' for d in _cache_dirs()]
    for out in built:
        if out.exists():
            return out
    if importlib.util.find_spec('ziglang') is None:
        raise NativeBuildError('the ziglang package is not installed')
    errors = []
    for out in built:
        d = out.parent
        try:
            d.mkdir(parents=True, exist_ok=True)
            _build(out)
            return out
        except OSError as e:
            errors.append(f'{d}: {e}')
    raise NativeBuildError('nowhere to build the native counter: ' + '; '.join(errors))


_lib = None


def _load() -> ctypes.CDLL:
    global _lib
    if _lib is None:
        try:
            lib = ctypes.CDLL(str(library_path()))
        except OSError as e:
            raise NativeBuildError(f'cannot load the native counter: {e}') from None
        lib.sc_size.restype = ctypes.c_size_t
        lib.sc_init.argtypes = [ctypes.c_void_p] * 6 + [ctypes.c_int, ctypes.c_char_p]
        lib.sc_begin.argtypes = [ctypes.c_void_p, ctypes.c_uint64]
        lib.sc_end.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        lib.sc_end.restype = ctypes.c_uint64
        lib.sc_forget_blocks.argtypes = [ctypes.c_void_p]
        lib.sc_attach_hooks.argtypes = [ctypes.c_void_p] * 3
        lib.sc_step_begin.argtypes = [ctypes.c_void_p, ctypes.c_uint64]
        lib.sc_step_end.argtypes = [ctypes.c_void_p]
        lib.sc_watch_check.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        lib.sc_watch_check.restype = ctypes.c_uint64
        lib.sc_use_unicorn_count.argtypes = [ctypes.c_void_p] * 3
        _lib = lib
    return _lib


def _capstone_library() -> bytes | None:
    """Where capstone's C library is, found without importing its Python package (slow)."""
    spec = importlib.util.find_spec('capstone')
    if spec is None or not spec.submodule_search_locations:
        return None
    for d in spec.submodule_search_locations:
        for name in ('libcapstone.so', 'libcapstone.dylib'):
            if (Path(d) / 'lib' / name).exists():
                return str(Path(d) / 'lib' / name).encode()
    return None


NOWHERE = 0xFFFF_FFFF_FFFF_FFF0     # slicecount.c: the block hook's range between counted slices


def _address(fn) -> int:
    return ctypes.cast(fn, ctypes.c_void_p).value


class BlockCounter:
    """The native counter of one Unicorn instance.  Create it before any code is translated
    and before any other UC_HOOK_INTR hook (its exception callback must run first)."""

    def __init__(self, uc: Uc):
        lib = _load()
        self._lib = lib
        self._buf = (ctypes.c_uint8 * lib.sc_size())()
        self._ptr = ctypes.addressof(self._buf)
        self.state = _Counter.from_address(self._ptr)
        self._capstone = _capstone_library()       # kept alive: the C side keeps the pointer
        lib.sc_init(self._ptr, _address(uclib.uc_emu_stop), _address(uclib.uc_ctl),
                    _address(uclib.uc_reg_read), _address(uclib.uc_reg_write),
                    _address(uclib.uc_vmem_read),
                    X.UC_X86_REG_RIP, self._capstone)
        self._uch = uc._uch
        self._hooks = []
        self._watching = 0                  # the debugger's watched ranges (set_watches)
        for kind, fn, where in ((UC_HOOK_BLOCK, lib.sc_on_block, NOWHERE),
                                (UC_HOOK_CODE, lib.sc_on_insn, NOWHERE),
                                (UC_HOOK_INTR, lib.sc_on_interrupt, None)):
            h = ctypes.c_size_t()
            begin, end = (where, where) if where else (1, 0)
            err = uclib.uc_hook_add(uc._uch, ctypes.byref(h), kind, ctypes.c_void_p(_address(fn)),
                                    ctypes.c_void_p(self._ptr), ctypes.c_uint64(begin), ctypes.c_uint64(end))
            if err:
                raise NativeBuildError(f'Unicorn refused the native hook (error {err})')
            self._hooks.append(h)
        for insn, fn in ((X.UC_X86_INS_RDTSC, lib.sc_on_rdtsc), (X.UC_X86_INS_RDTSCP, lib.sc_on_rdtscp)):
            h = ctypes.c_size_t()
            err = uclib.uc_hook_add(uc._uch, ctypes.byref(h), UC_HOOK_INSN, ctypes.c_void_p(_address(fn)),
                                    ctypes.c_void_p(self._ptr), ctypes.c_uint64(1), ctypes.c_uint64(0),
                                    ctypes.c_int(insn))
            if err:
                raise NativeBuildError(f'Unicorn refused the time-stamp counter hook (error {err})')
            self._hooks.append(h)
        if lib.sc_attach_hooks(self._ptr, self._hooks[0].value, self._hooks[1].value) != 0:
            raise NativeBuildError('cannot find the hooks\' ranges in this Unicorn build')
        count_blocks = getattr(uclib, 'uc_ukern_count_blocks', None)
        self.unicorn_counts = count_blocks is not None     # ukern's build (emu/unicorn_build.py)
        if self.unicorn_counts:
            lib.sc_use_unicorn_count(self._ptr, self._uch, _address(count_blocks))

    def set_time(self, ns: int) -> None:
        """The virtual clock now, before a slice: RDTSC counts on from there."""
        self.state.tsc_base = ns

    def begin(self, budget: int) -> None:
        """The next emu_start runs a slice of at least `budget` instructions."""
        self._lib.sc_begin(self._ptr, budget)

    def end(self) -> int:
        """The slice is over: the instructions it retired."""
        return self._lib.sc_end(self._ptr, self._uch)

    def so_far(self) -> int:
        """From a hook inside the slice: the instructions retired so far (the running block
        counts in full: a system call ends its block, and a fault has charged its part)."""
        s = self.state
        return s.retired + s.block_icount

    def step_begin(self, steps: int) -> None:
        """The next emu_start runs `steps` instructions (in blocks translated from now on)."""
        self._lib.sc_step_begin(self._ptr, steps)

    def step_end(self) -> int:
        """Stepping is over: the instructions begun."""
        self._lib.sc_step_end(self._ptr)
        return self.state.stepped

    def set_watches(self, watches: list[tuple[int, int, int | None]]) -> None:
        """The debugger's watched ranges: (address, length of 1 to 8, value now or None)."""
        if len(watches) > MAX_WATCHES:
            raise ValueError(f'at most {MAX_WATCHES} watchpoints')
        state = self.state
        for w, (addr, length, value) in zip(state.watches, watches):
            w.addr, w.len, w.known, w.value, w.hidden = addr, length, value is not None, value or 0, 0
        self._watching = state.watch_count = len(watches)
        state.watch_hit = 0

    def check_watches(self, on: bool) -> None:
        """Compare the watched values in the slices to come (the watched process runs)."""
        self.state.watch_count = self._watching if on else 0

    def hide_watches(self, hidden: list[bool]) -> None:
        """Which watched ranges are in pages hidden now (not to be read); [] for none."""
        for i, w in enumerate(self.state.watches):
            w.hidden = i < len(hidden) and hidden[i]

    def check_watches_now(self) -> bool:
        """From a callback between two instructions: has a watched value changed?"""
        return self._lib.sc_watch_check(self._ptr, self._uch) != 0

    def take_watch_hit(self) -> int | None:
        """The index of the watch whose value changed (then forgotten), or None."""
        hit, self.state.watch_hit = self.state.watch_hit, 0
        return hit - 1 if hit else None

    def forget_blocks(self) -> None:
        """Unicorn dropped its translated code: host addresses will be reused."""
        self._lib.sc_forget_blocks(self._ptr)
