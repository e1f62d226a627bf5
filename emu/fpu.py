"""The x87/SSE state of the CPU as the 512-byte image the FXSAVE instruction writes.

Unicorn exposes the x87 and SSE registers one by one; signal frames carry them as Linux
lays them out (an FXSAVE image), and exec resets them to what a new Linux program starts
with.  cpu.py reads and writes the live CPU or a saved context through these functions.
"""

import ctypes

from unicorn import Uc
from unicorn import x86_const as X
from unicorn.unicorn_py3.unicorn import uclib


class FXState(ctypes.LittleEndianStructure):
    """The FXSAVE image in 64-bit mode (Intel SDM vol. 1, table 10-2); Linux's struct
    _fpstate_64 (arch/x86/include/uapi/asm/sigcontext.h) is the same 512 bytes."""
    _pack_ = 1
    _fields_ = [('cwd', ctypes.c_uint16), ('swd', ctypes.c_uint16),
                ('twd', ctypes.c_uint16),            # abridged: bit i set = physical R(i) in use
                ('fop', ctypes.c_uint16), ('rip', ctypes.c_uint64), ('rdp', ctypes.c_uint64),
                ('mxcsr', ctypes.c_uint32), ('mxcsr_mask', ctypes.c_uint32),
                ('st_space', ctypes.c_uint8 * 128),  # ST(0)..ST(7), 10 bytes used of each 16
                ('xmm_space', ctypes.c_uint8 * 256),  # XMM0..XMM15
                ('reserved', ctypes.c_uint8 * 48), ('sw_reserved', ctypes.c_uint8 * 48)]


assert ctypes.sizeof(FXState) == 512

FCW_INIT = 0x037F           # all x87 exceptions masked, 64-bit precision, round to nearest
MXCSR_INIT = 0x1F80         # all SSE exceptions masked, round to nearest
MXCSR_MASK = 0xFFFF         # the MXCSR bits this CPU implements (a reserved bit set is #GP)
_ST_BYTES, _ST_STRIDE, _XMM_BYTES = 10, 16, 16
_FULL_TAG_EMPTY = 3


def fx_init() -> FXState:
    """The state FNINIT plus LDMXCSR 0x1F80 leave: what a new Linux program starts with."""
    fx = FXState()
    fx.cwd, fx.mxcsr, fx.mxcsr_mask = FCW_INIT, MXCSR_INIT, MXCSR_MASK
    return fx


class RegIO:
    """Raw register reads and writes of any width, on the live CPU or on a saved context
    (the Python binding only knows 64-bit registers in contexts)."""

    def __init__(self, uc: Uc, ctx=None):
        if ctx is None:
            self._h, self._read, self._write = uc._uch, uclib.uc_reg_read, uclib.uc_reg_write
        else:
            self._h, self._read, self._write = (ctx._context, uclib.uc_context_reg_read,
                                                uclib.uc_context_reg_write)
        self._buf = (ctypes.c_uint8 * 16)()

    def read(self, reg_id: int, size: int) -> bytes:
        ctypes.memset(self._buf, 0, 16)
        self._read(self._h, reg_id, ctypes.byref(self._buf))
        return bytes(self._buf[:size])

    def write(self, reg_id: int, data: bytes) -> None:
        ctypes.memset(self._buf, 0, 16)
        ctypes.memmove(self._buf, data, len(data))
        self._write(self._h, reg_id, ctypes.byref(self._buf))

    def read_int(self, reg_id: int, size: int) -> int:
        return int.from_bytes(self.read(reg_id, size), 'little')

    def write_int(self, reg_id: int, value: int, size: int) -> None:
        self.write(reg_id, value.to_bytes(size, 'little'))


def fxsave(io: RegIO) -> FXState:
    fx = FXState()
    fx.cwd = io.read_int(X.UC_X86_REG_FPCW, 2)
    fx.swd = io.read_int(X.UC_X86_REG_FPSW, 2)
    full = io.read_int(X.UC_X86_REG_FPTAG, 2)
    fx.twd = sum(1 << i for i in range(8) if (full >> 2 * i) & 3 != _FULL_TAG_EMPTY)
    fx.fop = io.read_int(X.UC_X86_REG_FOP, 2)
    fx.rip = io.read_int(X.UC_X86_REG_FIP, 8)
    fx.rdp = io.read_int(X.UC_X86_REG_FDP, 8)
    fx.mxcsr, fx.mxcsr_mask = io.read_int(X.UC_X86_REG_MXCSR, 4), MXCSR_MASK
    for i in range(8):          # ST(i), relative to the stack top, as FXSAVE stores them
        data = io.read(X.UC_X86_REG_ST0 + i, _ST_BYTES)
        ctypes.memmove(ctypes.addressof(fx.st_space) + i * _ST_STRIDE, data, _ST_BYTES)
    for i in range(16):
        data = io.read(_XMM_IDS[i], _XMM_BYTES)
        ctypes.memmove(ctypes.addressof(fx.xmm_space) + i * _XMM_BYTES, data, _XMM_BYTES)
    return fx


def fxrstor(io: RegIO, fx: FXState) -> None:
    io.write_int(X.UC_X86_REG_FPCW, fx.cwd, 2)
    io.write_int(X.UC_X86_REG_FPSW, fx.swd, 2)      # first: it sets the top that ST(i) is relative to
    full = sum(_FULL_TAG_EMPTY << 2 * i for i in range(8) if not fx.twd >> i & 1)
    io.write_int(X.UC_X86_REG_FPTAG, full, 2)
    io.write_int(X.UC_X86_REG_FOP, fx.fop & 0x7FF, 2)
    io.write_int(X.UC_X86_REG_FIP, fx.rip, 8)
    io.write_int(X.UC_X86_REG_FDP, fx.rdp, 8)
    io.write_int(X.UC_X86_REG_MXCSR, fx.mxcsr & MXCSR_MASK, 4)
    raw = bytes(fx)
    st, xmm = FXState.st_space.offset, FXState.xmm_space.offset
    for i in range(8):
        io.write(X.UC_X86_REG_ST0 + i, raw[st + i * _ST_STRIDE:st + i * _ST_STRIDE + _ST_BYTES])
    for i in range(16):
        io.write(_XMM_IDS[i], raw[xmm + i * _XMM_BYTES:xmm + (i + 1) * _XMM_BYTES])


_XMM_IDS = tuple(getattr(X, f'UC_X86_REG_XMM{i}') for i in range(16))
