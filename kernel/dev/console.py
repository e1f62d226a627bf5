"""The console driver: output through the console's TX register, input in two halves.

Bottom half (`interrupt`): runs when the console raises its line; drains RX into the input
buffer and wakes readers when a line (or end of file) is complete.
Top half (`read`): a reading process waits on the queue until a line is ready, then
takes at most one line, as a terminal in canonical mode delivers it (seed 002's xv6
console read path).
"""

from emu.bus import Bus
from emu.console import ConsoleReg, ConsoleStatus, ConsoleControl
from ..proc.wait import WaitQueue


class ConsoleDriver:
    def __init__(self, bus: Bus, base: int, is_tty: bool):
        self.bus = bus
        self.base = base
        self.is_tty = is_tty
        self.input = bytearray()
        self.eof = False
        self.readers = WaitQueue('console input', interruptible=True)
        bus.write(base + ConsoleReg.CONTROL, ConsoleControl.RX_IRQ_ENABLE)

    def write(self, data: bytes) -> int:
        tx = self.base + ConsoleReg.TX
        for b in data:
            self.bus.write(tx, b, 1)
        return len(data)

    def interrupt(self, wake) -> None:
        """Bottom half: move received bytes into the line buffer."""
        status_reg = self.base + ConsoleReg.STATUS
        while True:
            status = ConsoleStatus(self.bus.read(status_reg))
            if ConsoleStatus.RX_READY in status:
                self.input.append(self.bus.read(self.base + ConsoleReg.RX))
            else:
                if ConsoleStatus.RX_EOF in status:
                    self.eof = True
                    self.bus.write(self.base + ConsoleReg.CONTROL, 0)   # nothing more will come
                break
        if self.line_ready():
            self.readers.wake_all(wake)

    def line_ready(self) -> bool:
        return b'\n' in self.input or self.eof

    def read(self, n: int):
        """Top half (a generator: it may wait for input)."""
        while not self.line_ready():
            yield self.readers
        end = self.input.find(b'\n')
        take = min(n, end + 1 if end >= 0 else len(self.input))
        data = bytes(self.input[:take])
        del self.input[:take]
        return data
