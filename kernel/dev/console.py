"""The console driver: a terminal line discipline in two halves (seed 002: xv6's console).

Bottom half (`interrupt`): runs when the console raises its line.  It drains RX one byte at
a time and edits the line being typed as a terminal does in canonical mode: echo,
backspace, Ctrl-U (kill the line), Ctrl-D (end of file), Enter (the line is ready), and
Ctrl-C / Ctrl-\\ / Ctrl-Z as SIGINT / SIGQUIT / SIGTSTP to the foreground process group.
Top half (`read`): a reader waits until a line is ready (or, in raw mode, any byte), then
takes at most one line.  Output goes byte by byte through the TX register, with "\\n"
sent as "\\r\\n" (ONLCR) as a terminal expects.  Input that nobody types (a pipe or a
file on the host side) is not edited: the discipline starts in raw mode with no signals
and no CR->NL, so every byte reaches the reader as it came, and end of input is end of file.
"""

import enum
import struct

from emu.bus import Bus
from emu.console import ConsoleReg, ConsoleStatus, ConsoleControl
from ..errno import Errno
from ..fs.file import READABLE, WRITABLE
from ..proc.wait import WaitQueue


class LFlag(enum.IntFlag):
    """termios c_lflag bits (asm-generic/termbits.h)."""
    ISIG = 0o1
    ICANON = 0o2
    ECHO = 0o10
    ECHOE = 0o20
    ECHOK = 0o40


class OFlag(enum.IntFlag):
    OPOST = 0o1
    ONLCR = 0o4


class IFlag(enum.IntFlag):
    ICRNL = 0o400


class CC(enum.IntEnum):
    """Indexes into c_cc."""
    VINTR = 0
    VQUIT = 1
    VERASE = 2
    VKILL = 3
    VEOF = 4
    VMIN = 6
    VSUSP = 10


# struct termios as the kernel lays it out: iflag, oflag, cflag, lflag, line, cc[19].
TERMIOS = struct.Struct('<IIIIB19s')
DEFAULT_CC = bytes([3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0, 0, 0])
SIGINT, SIGQUIT, SIGTSTP = 2, 3, 20


class Termios:
    def __init__(self):
        self.iflag = int(IFlag.ICRNL)
        self.oflag = int(OFlag.OPOST | OFlag.ONLCR)
        self.cflag = 0o277                 # B38400 | CS8 | CREAD
        self.lflag = int(LFlag.ISIG | LFlag.ICANON | LFlag.ECHO | LFlag.ECHOE | LFlag.ECHOK)
        self.cc = bytearray(DEFAULT_CC)

    def pack(self) -> bytes:
        return TERMIOS.pack(self.iflag, self.oflag, self.cflag, self.lflag, 0, bytes(self.cc))

    def unpack(self, raw: bytes) -> None:
        self.iflag, self.oflag, self.cflag, self.lflag, _, cc = TERMIOS.unpack(raw[:TERMIOS.size])
        self.cc = bytearray(cc)


class ConsoleDriver:
    def __init__(self, bus: Bus, base: int, is_tty: bool, typed: bool | None = None):
        """is_tty: the output is a terminal (isatty, echo, ONLCR); typed: the input comes
        from a person or a typing script (the line discipline edits it); by default both."""
        self.bus = bus
        self.base = base
        self.is_tty = is_tty
        self.termios = Termios()
        if not is_tty:
            # Output to a pipe or file: no echo, and output passes untouched.
            self.termios.lflag &= ~(LFlag.ECHO | LFlag.ECHOE | LFlag.ECHOK)
            self.termios.oflag = 0
        if not (is_tty if typed is None else typed):
            # Input from a pipe or file is not typed: its bytes pass raw (^C, DEL, CR are data).
            edits = LFlag.ICANON | LFlag.ISIG | LFlag.ECHO | LFlag.ECHOE | LFlag.ECHOK
            self.termios.lflag &= ~int(edits)
            self.termios.iflag &= ~int(IFlag.ICRNL)
        self.ready = bytearray()          # finished lines (or raw bytes) waiting for read()
        self.editing = bytearray()        # the line being typed
        self.eof_marks = 0                # Ctrl-D on an empty line: read() returns 0 once
        self.host_eof = False             # the input file ended: every read returns 0
        self.foreground = 0               # process group that gets Ctrl-C
        self.signal_group = None          # set by the kernel: (pgid, signal) -> None
        self.take_host_input = None       # set by the kernel: () -> None, input already there
        self.readers = WaitQueue('console input', interruptible=True)
        bus.write(base + ConsoleReg.CONTROL, ConsoleControl.RX_IRQ_ENABLE)

    # -- output ---------------------------------------------------------------------------
    def write(self, data: bytes) -> int:
        if self.termios.oflag & OFlag.OPOST and self.termios.oflag & OFlag.ONLCR:
            self._transmit(data.replace(b'\n', b'\r\n'))
        else:
            self._transmit(data)
        return len(data)

    def _transmit(self, data: bytes) -> None:
        tx = self.base + ConsoleReg.TX
        for b in data:
            self.bus.write(tx, b, 1)

    def _echo(self, data: bytes) -> None:
        if self.termios.lflag & LFlag.ECHO:
            self.write(data)

    # -- bottom half ------------------------------------------------------------------------
    def interrupt(self, wake) -> None:
        """Move received bytes through the line discipline; wake readers if input is ready."""
        status_reg = self.base + ConsoleReg.STATUS
        while True:
            status = self.bus.read(status_reg)
            if status & ConsoleStatus.RX_READY:
                self._receive(self.bus.read(self.base + ConsoleReg.RX))
            else:
                if status & ConsoleStatus.RX_EOF:
                    self.host_eof = True
                    self.bus.write(self.base + ConsoleReg.CONTROL, 0)   # nothing more will come
                break
        if self.input_ready():
            self.readers.wake_all(wake)

    def _receive(self, c: int) -> None:
        t = self.termios
        if c == ord('\r') and t.iflag & IFlag.ICRNL:
            c = ord('\n')
        if t.lflag & LFlag.ISIG and c in (t.cc[CC.VINTR], t.cc[CC.VQUIT], t.cc[CC.VSUSP]):
            sig = {t.cc[CC.VINTR]: SIGINT, t.cc[CC.VQUIT]: SIGQUIT, t.cc[CC.VSUSP]: SIGTSTP}[c]
            self.editing.clear()
            self._echo(b'^' + bytes([c + 64]) + b'\n')
            if self.signal_group and self.foreground:
                self.signal_group(self.foreground, sig)
            return
        if not t.lflag & LFlag.ICANON:
            self.ready.append(c)
            self._echo(bytes([c]))
            return
        if c in (t.cc[CC.VERASE], 8):
            if self.editing:
                self.editing.pop()
                self._echo(b'\b \b')
        elif c == t.cc[CC.VKILL]:
            self._echo(b'\b \b' * len(self.editing))
            self.editing.clear()
        elif c == t.cc[CC.VEOF]:
            if self.editing:
                self._finish_line()
            else:
                self.eof_marks += 1
        elif c == ord('\n'):
            self.editing.append(c)
            self._echo(b'\n')
            self._finish_line()
        else:
            self.editing.append(c)
            self._echo(bytes([c]))

    def _finish_line(self) -> None:
        self.ready += self.editing
        self.editing.clear()

    def input_ready(self) -> bool:
        return bool(self.ready) or self.eof_marks > 0 or self.host_eof

    # -- top half -----------------------------------------------------------------------------
    def _ask_for_input(self) -> None:
        """Raise RTS: a reader waits (a typing script types its next line)."""
        self.bus.write(self.base + ConsoleReg.CONTROL, ConsoleControl.RX_IRQ_ENABLE | ConsoleControl.RTS)

    def _input_now(self) -> bool:
        """Is input ready, counting what the host side already holds?  (A call that
        will not wait must not miss bytes a host file or pipe has ready.)"""
        if not self.input_ready() and self.take_host_input is not None:
            self.take_host_input()
        return self.input_ready()

    def poll_events(self) -> int:
        return int((READABLE if self._input_now() else 0) | WRITABLE)

    def poll_queues(self) -> list:
        """A poller waits for input as a reader does, so it asks for input too."""
        if not self.input_ready():
            self._ask_for_input()
        return [self.readers]

    def read(self, n: int, nonblocking: bool = False):
        """A generator: wait for a line (or any byte in raw mode), return at most one line;
        with nothing ready and `nonblocking`, -EAGAIN."""
        while not self.input_ready():
            if nonblocking and not self._input_now():
                return -Errno.EAGAIN
            self._ask_for_input()
            yield self.readers
        if not self.ready:
            if self.eof_marks:
                self.eof_marks -= 1
            return b''
        end = self.ready.find(b'\n') if self.termios.lflag & LFlag.ICANON else -1
        take = min(n, end + 1 if end >= 0 else len(self.ready))
        data = bytes(self.ready[:take])
        del self.ready[:take]
        return data
