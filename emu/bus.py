"""The physical bus: MMIO windows for device registers, and interrupt lines.

A device registers a register window; the kernel's drivers read and write device
registers by physical address through `Bus.read`/`Bus.write`, as a driver on real hardware
does with MMIO loads and stores.  Devices raise interrupt lines; the kernel's loop sees
pending lines between slices and runs the matching bottom half.
"""

from typing import Protocol


class MMIODevice(Protocol):
    def mmio_read(self, offset: int, size: int) -> int: ...
    def mmio_write(self, offset: int, size: int, value: int) -> None: ...


class Bus:
    def __init__(self):
        self._windows: list[tuple[int, int, MMIODevice]] = []
        self.pending_irqs: set[int] = set()

    def map(self, base: int, size: int, device: MMIODevice) -> None:
        for b, s, _ in self._windows:
            if base < b + s and b < base + size:
                raise ValueError(f'MMIO window {base:#x}+{size:#x} overlaps {b:#x}+{s:#x}')
        self._windows.append((base, size, device))

    def _find(self, addr: int) -> tuple[MMIODevice, int]:
        for base, size, dev in self._windows:
            if base <= addr < base + size:
                return dev, addr - base
        raise ValueError(f'no device at physical address {addr:#x}')

    def read(self, addr: int, size: int = 4) -> int:
        dev, off = self._find(addr)
        return dev.mmio_read(off, size)

    def write(self, addr: int, value: int, size: int = 4) -> None:
        dev, off = self._find(addr)
        dev.mmio_write(off, size, value)

    # -- interrupt lines -------------------------------------------------------------
    def raise_irq(self, line: int) -> None:
        self.pending_irqs.add(line)

    def lower_irq(self, line: int) -> None:
        self.pending_irqs.discard(line)
