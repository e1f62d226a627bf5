"""Unicorn's live CPU state, found in the engine's memory: the cheap way past issue #1883.

The CPU (emu/cpu.py) must mark every exception delivered (old_exception = -1) and read the
#PF error code, which live only inside Unicorn's CPU state.  The portable way is to save a
context (uc_context_save copies that state, CPUX86State, into a blob), patch the blob and
restore it: two foreign calls and 11 KB of copying per fault.  The blob is a byte-for-byte
copy of the live state, so once we know where the live state is, the same fields can be
read and written in place, as plain memory, with no call into Unicorn at all.

Where it is: the engine's uc_struct holds a pointer to the CPU object, and CPUX86State
sits inside that object.  We give eight registers values nothing else holds, save a
context, and look for those bytes near each pointer the uc_struct holds (only inside
readable anonymous mappings and the heap of this process, from /proc/self/maps).  A candidate must then follow a
register written through the API, and the whole blob must equal the live memory it came
from; anything less and `find` returns None and the CPU keeps the context round trip.
"""

import bisect
import ctypes
import struct

from unicorn import x86_const as X

SEARCH_WORDS = 4096          # how much of uc_struct to look through for pointers
SEARCH_SPAN = 0x20000        # how far past each pointer the CPU state may lie (2.1.4: 35 KB)
_MARK_REGS = tuple(getattr(X, f'UC_X86_REG_R{i}') for i in range(8, 16))   # regs[8..15]: 64 bytes
_MARK = 0x5A17_C0DE_0000_0000


class LiveState:
    """The live CPU state laid out as a context blob: `words` (int32) indexed exactly as
    the blob's, and the 64-bit fields at given blob byte offsets."""

    def __init__(self, base: int, size: int):
        self.base = base
        self.words = (ctypes.c_int32 * (size // 4)).from_address(base)

    def u64(self, offset: int) -> ctypes.c_uint64:
        return ctypes.c_uint64.from_address(self.base + offset)


def _readable_mappings() -> list[tuple[int, int]]:
    spans = []
    try:
        with open('/proc/self/maps') as f:
            for line in f:
                fields = line.split()
                # the CPU object is allocated memory: anonymous or the heap; files are left
                # alone (reading past a truncated file's end would raise SIGBUS)
                if fields[1][0] != 'r' or (len(fields) > 5 and fields[5] != '[heap]'):
                    continue
                lo, hi = (int(x, 16) for x in fields[0].split('-'))
                spans.append((lo, hi))
    except OSError:
        return []
    return sorted(spans)


def _blob(uc, ctx) -> bytes:
    uc.context_update(ctx)
    return ctypes.string_at(ctypes.cast(ctx.context, ctypes.c_void_p).value, ctx.size)


def _search(engine: int, key: bytes, key_off: int, check) -> list[int]:
    """Where the blob's byte 0 would be, for each place the key appears near a pointer
    held in uc_struct and `check(base)` holds; pointers are tried in uc_struct order (the
    CPU pointer comes early), and the search ends at the first place that passes."""
    spans = _readable_mappings()
    starts = [lo for lo, _ in spans]
    words = (ctypes.c_uint64 * SEARCH_WORDS).from_address(engine)
    seen = set()
    for ptr in words:
        i = bisect.bisect_right(starts, ptr) - 1
        if ptr < 0x1000 or i < 0 or ptr >= spans[i][1] or ptr >> 12 in seen:
            continue
        seen.add(ptr >> 12)
        data = ctypes.string_at(ptr, min(SEARCH_SPAN, spans[i][1] - ptr))
        at = data.find(key)
        while at >= 0:
            if check(ptr + at - key_off):
                return [ptr + at - key_off]
            at = data.find(key, at + 1)
    return []


def find(uc, ctx) -> LiveState | None:
    """The live state behind contexts saved into `ctx`, or None if it cannot be proved."""
    engine = ctypes.cast(uc._uch, ctypes.c_void_p).value
    saved = [uc.reg_read(r) for r in _MARK_REGS]
    try:
        for i, r in enumerate(_MARK_REGS):
            uc.reg_write(r, _MARK + i)
        key = struct.pack('<8Q', *(_MARK + i for i in range(8)))
        blob = _blob(uc, ctx)
        key_off = blob.find(key)
        if key_off < 0:
            return None
        env_off = key_off - 64                  # regs[8] is 64 bytes into CPUX86State
        uc.reg_write(_MARK_REGS[0], _MARK + 0xFF)     # the live state follows the API
        live = _search(engine, key[8:], key_off + 8,
                       lambda b: ctypes.c_uint64.from_address(b + key_off).value == _MARK + 0xFF)
    finally:
        for r, v in zip(_MARK_REGS, saved):
            uc.reg_write(r, v)
    if len(live) != 1 or live[0] % 8:
        return None
    blob = _blob(uc, ctx)
    if ctypes.string_at(live[0] + env_off, len(blob) - env_off) != blob[env_off:]:
        return None
    return LiveState(live[0], len(blob))


def field_offset(uc, ctx, reg_id: int) -> int | None:
    """The blob byte offset of the 64-bit field a register is read from (RIP, CR2): the
    one place a distinctive value written through the API shows up."""
    old = uc.reg_read(reg_id)
    try:
        uc.reg_write(reg_id, _MARK + 0x77)
        blob = _blob(uc, ctx)
    finally:
        uc.reg_write(reg_id, old)
    at = blob.find(struct.pack('<Q', _MARK + 0x77))
    if at < 0 or blob.find(struct.pack('<Q', _MARK + 0x77), at + 1) >= 0:
        return None
    return at


# CPUX86State.regs (QEMU target/i386/cpu.h): the sixteen general registers in encoding order.
GPR_ORDER = ('rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi',
             'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15')
# rax (the number), then rdi, rsi, rdx, r10, r8, r9: the Linux x86-64 syscall ABI.
SYSCALL_GPRS = tuple(GPR_ORDER.index(n) for n in ('rax', 'rdi', 'rsi', 'rdx', 'r10', 'r8', 'r9'))


def gprs(uc, ctx, live: LiveState):
    """The sixteen general registers in place, as a memoryview of 64-bit words in
    GPR_ORDER, or None unless each register is proved to live where that order says.
    A system call reads seven of them and writes rax: in place, that is no foreign call."""
    ids = [getattr(X, 'UC_X86_REG_' + name.upper()) for name in GPR_ORDER]
    saved = [uc.reg_read(r) for r in ids]
    marks = struct.pack('<16Q', *(_MARK + 0x100 + i for i in range(16)))
    try:
        for i, r in enumerate(ids):             # each register its own value, one context
            uc.reg_write(r, _MARK + 0x100 + i)
        blob = _blob(uc, ctx)
    finally:
        for r, v in zip(ids, saved):
            uc.reg_write(r, v)
    rax = blob.find(marks)                      # all sixteen, in GPR_ORDER, once
    if rax < 0 or blob.find(marks, rax + 1) >= 0:
        return None
    view = memoryview((ctypes.c_uint64 * 16).from_address(live.base + rax)).cast('B').cast('Q')
    old = view[3]
    view[3] = _MARK + 0x33                         # and a write in place reads back (rbx)
    seen = uc.reg_read(X.UC_X86_REG_RBX)
    view[3] = old
    return view if seen == _MARK + 0x33 else None
