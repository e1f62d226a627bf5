"""The wire of the GDB remote protocol: one gdb connection's packets, for gdbstub.py.

gdb connects over TCP (the stub listens on 127.0.0.1 only).  Every message is a packet
$data#checksum, the checksum the sum of the data's bytes modulo 256 in two hex digits, and
the receiver answers + (good) or - (send it again).  Binary data in a reply is escaped:
# $ } * are sent as } and the byte xor 0x20.  While the machine runs, gdb may send a lone
0x03 byte: Ctrl-C, which the stub polls for between slices.  This file only moves packets;
what they mean is the stub's.

Protocol: https://sourceware.org/gdb/onlinedocs/gdb/Remote-Protocol.html
"""

import select
import socket


def checksum(data: bytes) -> int:
    return sum(data) & 0xFF


def escape(data: bytes) -> bytes:
    """Binary data in a reply: # $ } * are sent as } followed by the byte xor 0x20."""
    out = bytearray()
    for b in data:
        if b in b'#$}*':
            out += bytes((0x7D, b ^ 0x20))
        else:
            out.append(b)
    return bytes(out)


class Disconnected(Exception):
    """gdb closed the connection."""


CTRL_C = 0x03
_HEX = b'0123456789abcdefABCDEF'


class GdbWire:
    def __init__(self, host: str, port: int):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.conn: socket.socket | None = None
        self.last_sent = b''        # resent when gdb answers -; b'' before the first reply
        self._inbuf = bytearray()

    def accept(self) -> None:
        """Wait for gdb to connect."""
        self.conn, _ = self.listener.accept()
        self.conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def poll(self) -> bool:
        """Take what gdb sent while the machine runs, without waiting: whether it sent
        Ctrl-C.  Raises Disconnected if gdb has gone."""
        try:
            ready, _, _ = select.select([self.conn], [], [], 0)
            if not ready:
                return False
            data = self.conn.recv(4096)
        except (OSError, ValueError):
            data = b''
        if not data:
            raise Disconnected()
        interrupted = CTRL_C in data
        self._inbuf += data.replace(bytes((CTRL_C,)), b'').lstrip(b'+')
        return interrupted

    def read_packet(self) -> bytes:
        """The next packet's data, acknowledged (b'?' for a Ctrl-C while stopped: gdb
        wants to know where the machine is)."""
        while True:
            b = self._recv_byte()
            if b == ord('$'):
                break
            if b == CTRL_C:
                return b'?'
            if b == ord('-') and self.last_sent:
                self.conn.sendall(self.last_sent)
        data = bytearray()
        while (b := self._recv_byte()) != ord('#'):
            data.append(b)
        cs = bytes((self._recv_byte(), self._recv_byte()))
        ok = all(c in _HEX for c in cs) and int(cs, 16) == checksum(data)
        self.conn.sendall(b'+' if ok else b'-')
        return bytes(data) if ok else self.read_packet()

    def send(self, data: str | bytes) -> None:
        raw = data.encode('latin-1') if isinstance(data, str) else data
        self.last_sent = b'$' + raw + b'#' + f'{checksum(raw):02x}'.encode()
        self.conn.sendall(self.last_sent)

    def close(self) -> None:
        """Hang up on gdb (the listener stays)."""
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass

    def close_listener(self) -> None:
        try:
            self.listener.close()
        except OSError:
            pass

    def _recv_byte(self) -> int:
        if not self._inbuf:
            data = self.conn.recv(4096)
            if not data:
                raise Disconnected()
            self._inbuf += data
        b = self._inbuf[0]
        del self._inbuf[0]
        return b
