"""Guest physical memory: one host buffer that Unicorn maps once at physical address 0.

The CPU reaches it through the kernel's page tables; the kernel and the devices (DMA) reach
it here by physical address.  Host pages are only touched when the guest uses them, so a
large `--mem` costs nothing up front; but then the first touch of each host page costs a
host page fault (about 1 µs on a virtualised host: 70 ms for 64 MiB of fresh DMA targets).
`prefault=True` has the host populate all of RAM at once (MAP_POPULATE), as physical RAM
is simply there: boot takes longer, and timings no longer include the host's faults.
"""

import ctypes
import mmap
import struct


_ZERO_PAGE = bytes(4096)


class BusError(Exception):
    """A physical access outside RAM (a device model turns this into a host-bus error)."""


class PhysicalMemory:
    def __init__(self, size: int, prefault: bool = False):
        if size <= 0 or size % 4096:
            raise ValueError(f'memory size must be a positive multiple of 4 KiB, not {size}')
        self.size = size
        populate = getattr(mmap, 'MAP_POPULATE', 0) if prefault else 0
        self._buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | populate)
        self.view = memoryview(self._buf)
        self.words = self.view.cast('Q')      # 64-bit words: page-table entries by address >> 3
        self.halves = self.view.cast('I')     # 32-bit words: the halves of those entries
        self.host_address = ctypes.addressof(ctypes.c_char.from_buffer(self._buf))

    def check(self, addr: int, n: int) -> None:
        if addr < 0 or n < 0 or addr + n > self.size:
            raise BusError(f'physical access {addr:#x}+{n:#x} outside RAM ({self.size:#x})')

    def read(self, addr: int, n: int) -> bytes:
        self.check(addr, n)
        return self._buf[addr:addr + n]

    def write(self, addr: int, data: bytes) -> None:
        self.check(addr, len(data))
        self._buf[addr:addr + len(data)] = data

    def fill(self, addr: int, n: int, byte: int = 0) -> None:
        self.check(addr, n)
        if n == len(_ZERO_PAGE) and not byte:       # a fresh frame: the common case
            self.view[addr:addr + n] = _ZERO_PAGE   # (a slice store costs a third of a ctypes call)
        else:
            ctypes.memset(self.host_address + addr, byte, n)

    def copy(self, dst: int, src: int, n: int) -> None:
        self.check(dst, n)
        self.check(src, n)
        if dst + n <= src or src + n <= dst:
            self.view[dst:dst + n] = self.view[src:src + n]
        else:                                       # overlapping: memmove's semantics
            ctypes.memmove(self.host_address + dst, self.host_address + src, n)

    def read_u64(self, addr: int) -> int:
        if addr & 7:
            return struct.unpack_from('<Q', self._buf, addr)[0]
        return self.words[addr >> 3]

    def write_u64(self, addr: int, value: int) -> None:
        if addr & 7:
            struct.pack_into('<Q', self._buf, addr, value)
        else:
            self.words[addr >> 3] = value

    def read_u32(self, addr: int) -> int:
        return struct.unpack_from('<I', self._buf, addr)[0]

    def write_u32(self, addr: int, value: int) -> None:
        struct.pack_into('<I', self._buf, addr, value)
