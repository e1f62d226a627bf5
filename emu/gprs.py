"""The general registers in place: where Unicorn keeps them while it runs.

uc_reg_read and uc_reg_write of a general register copy one word of QEMU's CPU state
(CPUX86State.regs[i]) and nothing else, but each is a foreign call, and a system call needs
eight of them (rax and six arguments in, rax out): most of a quick call's cost.  The CPU
state sits at a fixed address for the engine's life, so the CPU (cpu.py) finds it once,
at start-up, and then reads and writes those sixteen words directly, through a memoryview.

Finding it: fill the registers with a pattern through the API and look for it in the
memory near the engine, then check that a change made either way shows the other way
before ever writing there.  The C allocator usually puts the CPU state a little after the
engine in the same heap mapping; when it does not, the engine holds a pointer to it
(uc->cpu), so the memory right after each pointer the engine holds is searched next.
If nothing is found the CPU keeps to the API, which works the same, only slower.
"""

import ctypes
import itertools
import struct

from unicorn import Uc
from unicorn import x86_const as X

# CPUX86State.regs (QEMU target/i386/cpu.h): the sixteen general registers in encoding order.
_GPR_ORDER = ('rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi',
              'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15')
_GPR_IDS = tuple(getattr(X, 'UC_X86_REG_' + n.upper()) for n in _GPR_ORDER)
# rax (the number), then rdi, rsi, rdx, r10, r8, r9: the Linux x86-64 syscall ABI.
SYSCALL_GPRS = tuple(_GPR_ORDER.index(n) for n in ('rax', 'rdi', 'rsi', 'rdx', 'r10', 'r8', 'r9'))
_GPR_MARK = 0x5A17_0000_0000_0000          # distinct values no register holds by chance
_GPR_SEARCH_CHUNK = 1 << 18
_searches = itertools.count(1)


def find_live_gprs(uc: Uc, reg):
    """The sixteen general registers of `uc` in place, as a memoryview of words in
    CPUX86State.regs order, or None if they cannot be found.  `reg` reads and writes one
    register through the API (cpu._Reg)."""
    saved = [reg.read(i) for i in _GPR_IDS]
    serial = next(_searches)                  # no copy left by an earlier search can match
    marks = [_GPR_MARK | (serial & 0xFFFF) << 32 | (i + 1) * 0x0101_0101 for i in range(16)]
    for i, v in zip(_GPR_IDS, marks):
        reg.write(i, v)
    found = _search_heap(ctypes.cast(uc._uch, ctypes.c_void_p).value, struct.pack('<16Q', *marks))
    view = None
    if found is not None:
        view = memoryview((ctypes.c_uint64 * 16).from_address(found)).cast('B').cast('Q')
        reg.write(_GPR_IDS[3], marks[3] ^ 0xFFFF)         # rbx changed through the API ...
        if view[3] != marks[3] ^ 0xFFFF:                   # ... must change in place (checked
            view = None                                    # before ever writing there)
        else:
            view[3] = marks[3]                             # and changed in place ...
            if reg.read(_GPR_IDS[3]) != marks[3]:          # ... must read back through the API
                view = None
    for i, v in zip(_GPR_IDS, saved):
        reg.write(i, v)
    return view


def _search_heap(engine: int, pattern: bytes) -> int | None:
    """The address of `pattern` in the CPU state that belongs to `engine`.  Unicorn usually
    allocates it soon after the engine, in the same heap mapping; otherwise the engine holds
    a pointer to it (uc->cpu), so look near what the engine points to."""
    maps = _writable_anonymous_mappings()
    home = next(((lo, hi) for lo, hi in maps if lo <= engine < hi), None)
    if home is None:
        return None
    found = _search_span(engine & ~7, min(home[1], engine + _CPU_STATE_WINDOW), pattern)
    if found is not None:
        return found
    nwords = min(_ENGINE_WORDS, (home[1] - engine) // 8)
    windows = []                      # [ptr, ptr + window) inside its mapping, for each pointer
    for ptr in set((ctypes.c_uint64 * nwords).from_address(engine)):
        span = next(((lo, hi) for lo, hi in maps if lo <= ptr < hi), None)
        if span is not None and ptr % 8 == 0 and (span == home or span[1] - span[0] <= _SMALL_MAPPING):
            windows.append((ptr, min(span[1], ptr + _CPU_STATE_WINDOW)))
    for start, end in _merged(windows):
        found = _search_span(start, end, pattern)
        if found is not None:
            return found
    return None


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping spans joined, so that no byte is searched twice."""
    out: list[list[int]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return [(lo, hi) for lo, hi in out]


def _search_span(start: int, end: int, pattern: bytes) -> int | None:
    for at in range(start, end, _GPR_SEARCH_CHUNK):
        hit = ctypes.string_at(at, min(end, at + _GPR_SEARCH_CHUNK + len(pattern)) - at).find(pattern)
        if hit >= 0 and (at + hit) % 8 == 0:
            return at + hit
    return None


def _writable_anonymous_mappings() -> list[tuple[int, int]]:
    spans = []
    with open('/proc/self/maps') as maps:
        for line in maps:
            fields = line.split()
            if fields[1].startswith('rw') and (len(fields) < 6 or fields[5] == '[heap]'):
                lo, hi = (int(x, 16) for x in fields[0].split('-'))
                spans.append((lo, hi))
    return spans


_ENGINE_WORDS = 4096                 # how much of uc_struct to look through for uc->cpu
_CPU_STATE_WINDOW = 1 << 19          # X86CPU is well under this; env lies inside it
_SMALL_MAPPING = 16 << 20            # never search a big mapping (guest RAM, say) for it
