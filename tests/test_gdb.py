"""The gdb stub: real gdb debugs a guest; the protocol answers a hand-written client."""

import re
import shutil
import socket
import subprocess
import threading

import pytest

from conftest import boot
from kernel.trace.gdbstub import GdbStub
from kernel.trace.gdbwire import checksum

GDB = shutil.which('gdb') or '/usr/bin/gdb'
needs_gdb = pytest.mark.skipif(not shutil.which('gdb'), reason='gdb is not installed')


def start(userland, name, *args):
    """A kernel running `name` under the stub (port 0: a free port), in a thread."""
    kernel, out, log = boot()
    path = userland / name
    p = kernel.spawn(path.read_bytes(), [str(path).encode()] + [a.encode() for a in args], [])
    stub = GdbStub(kernel, 0)
    kernel.debugger = stub
    thread = threading.Thread(target=kernel.run, daemon=True)
    thread.start()
    return kernel, p, stub, thread, out, path


def gdb_batch(stub, path, *commands, timeout=60):
    cmd = [GDB, '-batch', '-nx', '-ex', 'set confirm off', '-ex', f'target remote 127.0.0.1:{stub.port}']
    for c in commands:
        cmd += ['-ex', c]
    r = subprocess.run(cmd + [str(path)], capture_output=True, text=True, timeout=timeout)
    return r.stdout + r.stderr


@needs_gdb
def test_gdb_breaks_at_main_steps_and_sees_the_exit(userland):
    kernel, p, stub, thread, out, path = start(userland, 'bin/gdbdemo')
    text = gdb_batch(stub, path, 'break main', 'continue', 'next', 'info registers rip',
                     'print $rax', 'break square', 'continue', 'print x', 'bt', 'delete', 'continue')
    thread.join(30)
    assert not thread.is_alive()
    assert re.search(r'Breakpoint 1, main \(\) at .*gdbdemo\.c:\d+', text), text
    assert re.search(r'^rip\s+0x[0-9a-f]+\s+0x[0-9a-f]+ <main\+\d+>', text, re.M), text
    assert re.search(r'^\$1 = -?\d+$', text, re.M), text
    assert re.search(r'Breakpoint 2, square \(x=(x@entry=)?1\)', text), text
    assert re.search(r'^\$2 = 1$', text, re.M), text
    assert re.search(r'#1 .* in main \(\) at .*gdbdemo\.c', text), text
    assert 'exited normally' in text, text
    assert b'gdbdemo: total = 14' in bytes(out)
    assert p.exit_status == 0


@needs_gdb
def test_gdb_sees_a_segfault_before_the_process_dies(userland):
    kernel, p, stub, thread, out, path = start(userland, 'bin/segv')
    text = gdb_batch(stub, path, 'continue', 'print $pc', 'continue')
    thread.join(30)
    assert 'Program received signal SIGSEGV' in text, text
    assert re.search(r'segv\.c:\d+', text), text
    assert 'Program terminated with signal SIGSEGV' in text, text
    assert p.killed_by == 11


class Client:
    """Just enough of the remote protocol to talk to the stub without gdb."""

    def __init__(self, port):
        self.s = socket.create_connection(('127.0.0.1', port), timeout=20)
        self.buf = b''

    def send(self, data: str):
        raw = data.encode()
        self.s.sendall(b'$' + raw + b'#' + f'{checksum(raw):02x}'.encode())
        assert self._byte() == b'+'

    def _byte(self):
        if not self.buf:
            self.buf = self.s.recv(4096)
            assert self.buf, 'connection closed'
        b, self.buf = self.buf[:1], self.buf[1:]
        return b

    def reply(self) -> str:
        while self._byte() != b'$':
            pass
        data = b''
        while (b := self._byte()) != b'#':
            data += b
        cs = self._byte() + self._byte()
        assert int(cs, 16) == checksum(data)
        self.s.sendall(b'+')
        return data.decode('latin-1')

    def ask(self, data: str) -> str:
        self.send(data)
        return self.reply()


def test_protocol_registers_memory_and_ctrl_c(userland):
    kernel, p, stub, thread, out, path = start(userland, 'tests/spin', '2000000000')
    c = Client(stub.port)
    assert 'PacketSize=' in c.ask('qSupported:multiprocess+;swbreak+')
    assert c.ask('?') == 'T05thread:1;'                      # stopped before the first instruction
    assert c.ask('qfThreadInfo') == 'm1' and c.ask('qC') == 'QC1'
    regs = bytes.fromhex(c.ask('g'))
    rip = int.from_bytes(regs[128:136], 'little')
    assert rip == p.regs[16]
    assert c.ask(f'p10') == regs[128:136].hex()                # register 16 is rip
    assert c.ask(f'm{rip:x},4') != 'E14'
    assert c.ask('m10,4') == 'E14'                             # unmapped
    assert c.ask('qXfer:features:read:target.xml:0,20').startswith('m<?xml')
    c.send('c')
    c.s.sendall(b'\x03')                                       # Ctrl-C while it spins
    stop = c.reply()
    assert stop.startswith('T02thread:1;'), stop
    c.send('k')
    thread.join(30)
    assert not thread.is_alive() and p.killed_by == 9
