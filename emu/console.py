"""The console: a UART-like device with one MMIO register window.

Output: each byte written to TX appears on the host side (a terminal, a file, or a buffer
for tests).  Input: bytes queued by the host side (keyboard, a file, a string) arrive one at
a time; each arrival sets RX_READY and raises the console's interrupt line, and the
kernel's bottom half reads them from RX.
"""

import enum
import os
import select
from collections import deque
from typing import BinaryIO, Callable

from .bus import Bus


class ConsoleReg(enum.IntEnum):
    TX = 0x00        # write: transmit one byte
    RX = 0x04        # read: the next received byte
    STATUS = 0x08    # read: ConsoleStatus bits
    CONTROL = 0x0C   # write: ConsoleControl bits

WINDOW_SIZE = 0x10


class ConsoleStatus(enum.IntFlag):
    RX_READY = 1 << 0
    RX_EOF = 1 << 1     # the host side will send nothing more (end of an input file)


class ConsoleControl(enum.IntFlag):
    RX_IRQ_ENABLE = 1 << 0
    RTS = 1 << 1        # "request to send": the driver has a reader waiting for input


class Console:
    def __init__(self, bus: Bus, base: int, irq_line: int, sink: Callable[[bytes], None],
                 source: BinaryIO | None = None):
        self._bus = bus
        self._source = source
        self._irq = irq_line
        self._sink = sink
        self._rx: deque[int] = deque()
        self._eof = False
        self._control = ConsoleControl(0)
        self._script: list[bytes] | None = None
        self.attention_fd: int | None = None   # readable when the host wants the kernel's attention
        self.on_feed: Callable[[bytes, bool], None] | None = None   # a recorder (kernel/trace/record.py)
        bus.map(base, WINDOW_SIZE, self)

    # -- host side --------------------------------------------------------------------
    def feed(self, data: bytes, eof: bool = False) -> None:
        """Bytes typed on the host side (or read from an input file)."""
        if self.on_feed is not None:
            self.on_feed(data, eof)
        self._rx.extend(data)
        self._eof = self._eof or eof
        self._update_irq()

    def wait_for_host_input(self) -> bool:
        """The machine is idle and someone waits for input: block on the host side.
        Returns False when no more input can ever come (or a typing script types it)."""
        if self._source is None or self._eof or self._script is not None:
            return False
        if self._host_wants_attention():
            return True
        data = self._read_source()
        self.feed(data, eof=not data)
        return True

    def _host_wants_attention(self) -> bool:
        """Wait for input or for attention_fd (a host Ctrl-C while the machine waits for
        input); True, and the attention taken, if it was the latter."""
        fd = self._source_fd()
        if self.attention_fd is None or fd is None:
            return False
        ready = select.select([fd, self.attention_fd], [], [])[0]
        if self.attention_fd not in ready:
            return False
        try:
            os.read(self.attention_fd, 64)
        except BlockingIOError:
            pass
        return True

    def poll_host_input(self) -> bool:
        """Take whatever the host side has ready (typed, or waiting in a file or pipe),
        without waiting for more.  An input held in memory is always ready.  True if
        anything came (or the input ended)."""
        if self._source is None or self._eof or self._script is not None:
            return False
        fd = self._source_fd()
        if fd is not None and not select.select([fd], [], [], 0)[0]:
            return False
        return self.wait_for_host_input()              # (in memory: reading never waits)

    def _source_fd(self) -> int | None:
        try:
            return self._source.fileno()
        except (AttributeError, OSError):
            return None

    def _read_source(self) -> bytes:
        """The next bytes from the host side: straight from its descriptor, so that
        select() on it tells the truth (no Python buffer holds bytes back)."""
        fd = self._source_fd()
        return os.read(fd, 4096) if fd is not None else self._source.read(4096)

    def type_script(self, clock, data: bytes, delay_ns: int, patience_ns: int) -> None:
        """Deterministic typing for tests and demos, as a patient person types: the next
        line (or control key) is typed `delay_ns` after the driver asks for input (RTS),
        or after `patience_ns` of virtual time with no request (how Ctrl-C reaches a
        program that is busy computing).  End of input follows the last key."""
        self._script = _split_keys(data)
        self._clock = clock
        self._delay = delay_ns
        self._patience = patience_ns
        self._typed = 0
        self._type_next_after(patience_ns)

    def _type_next_after(self, ns: int) -> None:
        typed = self._typed
        self._clock.schedule_in(ns, lambda: self._type_next(typed))

    def _type_next(self, expected: int) -> None:
        if self._typed != expected or self._eof:
            return                     # already typed by the other trigger
        self._typed += 1
        if expected >= len(self._script):
            self.feed(b'', eof=True)
            return
        self._control &= ~ConsoleControl.RTS
        self.feed(self._script[expected])
        self._type_next_after(self._patience)

    def _update_irq(self) -> None:
        if (self._rx or self._eof) and ConsoleControl.RX_IRQ_ENABLE in self._control:
            self._bus.raise_irq(self._irq)
        else:
            self._bus.lower_irq(self._irq)

    # -- register interface -------------------------------------------------------------
    def mmio_read(self, offset: int, size: int) -> int:
        if offset == ConsoleReg.RX:
            value = self._rx.popleft() if self._rx else 0
            self._update_irq()
            return value
        if offset == ConsoleReg.STATUS:
            status = ConsoleStatus(0)
            if self._rx:
                status |= ConsoleStatus.RX_READY
            elif self._eof:
                status |= ConsoleStatus.RX_EOF
            return int(status)
        return 0

    def mmio_write(self, offset: int, size: int, value: int) -> None:
        if offset == ConsoleReg.TX:
            self._sink(bytes([value & 0xFF]))
        elif offset == ConsoleReg.CONTROL:
            asked = ConsoleControl.RTS in ConsoleControl(value & 3) and ConsoleControl.RTS not in self._control
            self._control = ConsoleControl(value & 3)
            self._update_irq()
            if asked and self._script is not None:
                self._type_next_after(self._delay)


def _split_keys(data: bytes) -> list[bytes]:
    """A script as what a person types at once: whole lines, and each control key alone."""
    keys, line = [], bytearray()
    for b in data:
        if b < 0x20 and b not in (0x0A, 0x09):
            if line:
                keys.append(bytes(line))
                line.clear()
            keys.append(bytes([b]))
            continue
        line.append(b)
        if b == 0x0A:
            keys.append(bytes(line))
            line.clear()
    if line:
        keys.append(bytes(line))
    return keys
