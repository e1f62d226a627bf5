"""What reproducing and rewinding cost (issue 18), measured:

  exact clock   a lone process's compute loop (userland/asm/bench_crc.S) with every
                instruction counted (--exact-clock, on with --trace, --record and --gdb)
                against the same run uncounted: the native block counter's price
  reverse-step  `ukern run --gdb --snapshot-every N` on a long loop (userland/tests/spin.c):
                continue, stop it with Ctrl-C after a while of host time, then time gdb's
                `bs` packet (reverse-stepi) until its stop reply: a fork of the nearest
                snapshot and the re-execution of up to N instructions from it
  snapshot RAM  the host memory the snapshots hold of their own (Private_* in
                /proc/PID/smaps_rollup): pages the running machine changed since the
                snapshot was taken, the rest shared copy-on-write with it

  python bench/rewind.py          (bench/run.py appends the table to RESULTS.md)
"""

import io
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'tests'))

from emu.machine import Machine                     # noqa: E402
from kernel.kernel import Kernel                    # noqa: E402
from kernel.trace.gdbwire import checksum           # noqa: E402

CRC = ROOT / 'build' / 'userland' / 'asm' / 'bench_crc'
SPIN = ROOT / 'build' / 'userland' / 'tests' / 'spin'
INTERVALS = (1_000_000, 10_000_000, 50_000_000)
STEPS = 3                         # reverse-steps timed per stop


def crc_seconds(exact: bool) -> float:
    machine = Machine(64 << 20, console_sink=lambda b: None, console_source=io.BytesIO())
    kernel = Kernel(machine, log=lambda m: None)
    kernel.exact_clock = exact
    kernel.spawn(CRC.read_bytes(), [b'bench_crc'], [])
    t = time.perf_counter()
    kernel.run()
    return time.perf_counter() - t


class Gdb:
    """The few packets the measurement needs, over the remote protocol."""

    def __init__(self, port: int):
        self.s = socket.create_connection(('127.0.0.1', port), timeout=600)
        self.buf = b''

    def send(self, data: str) -> None:
        raw = data.encode()
        self.s.sendall(b'$' + raw + b'#' + f'{checksum(raw):02x}'.encode())

    def reply(self) -> str:
        while True:
            if b'#' in self.buf and len(self.buf) >= self.buf.index(b'#') + 3:
                start = self.buf.index(b'$')
                end = self.buf.index(b'#')
                data, self.buf = self.buf[start + 1:end], self.buf[end + 3:]
                self.s.sendall(b'+')
                return data.decode('latin-1')
            chunk = self.s.recv(4096)
            if not chunk:
                raise EOFError('the stub closed the connection')
            self.buf += chunk.replace(b'+', b'') if b'$' not in chunk else chunk

    def ask(self, data: str) -> str:
        self.send(data)
        return self.reply()


def private_mib(pid: int) -> float:
    try:
        text = Path(f'/proc/{pid}/smaps_rollup').read_text()
    except OSError:
        return 0.0
    kib = sum(int(m) for m in re.findall(r'^Private_(?:Clean|Dirty):\s+(\d+) kB', text, re.M))
    return kib / 1024


def children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f'/proc/{pid}/task/{pid}/children').read_text().split()]
    except OSError:
        return []


def reverse_step(every: int, run_seconds: float = 1.5) -> tuple[float, float, int]:
    """(ms per reverse-stepi, MiB private to each snapshot, snapshots) for one interval."""
    ukern = subprocess.Popen([sys.executable, '-m', 'kernel', 'run', '--gdb', '0',
                              '--snapshot-every', str(every), str(SPIN), '4000000000'],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    try:
        port = int(re.search(rb'127\.0\.0\.1:(\d+)', ukern.stderr.readline()).group(1))
        gdb = Gdb(port)
        gdb.ask('qSupported:swbreak+')
        gdb.send('c')
        time.sleep(run_seconds)
        gdb.s.sendall(b'\x03')
        gdb.reply()
        snaps = children(ukern.pid)
        memory = sum(private_mib(pid) for pid in snaps) / max(1, len(snaps))
        times = []
        for _ in range(STEPS):
            t = time.perf_counter()
            stop = gdb.ask('bs')
            times.append(time.perf_counter() - t)
            assert stop.startswith('T05'), stop
        gdb.send('k')
        return sum(times) / len(times) * 1000, memory, len(snaps)
    finally:
        try:
            ukern.wait(timeout=30)
        except subprocess.TimeoutExpired:
            ukern.kill()


def rows() -> list[tuple[str, str]]:
    out = []
    plain = min(crc_seconds(False) for _ in range(3))
    exact = min(crc_seconds(True) for _ in range(3))
    out.append(('compute loop, lone process: uncounted', f'{plain:.3f} s'))
    out.append(('the same with --exact-clock (every instruction counted)',
                f'{exact:.3f} s ({exact / plain:.2f}x)'))
    for every in INTERVALS:
        ms, mib, n = reverse_step(every)
        out.append((f'reverse-stepi, a snapshot every {every:,} instructions',
                    f'{ms:.0f} ms; {n} snapshots, {mib:.1f} MiB of their own each'))
    return out


def table() -> str:
    lines = ['| reproducing and rewinding (bench/rewind.py) | measured |', '|---|---|']
    lines += [f'| {name} | {value} |' for name, value in rows()]
    return '\n'.join(lines)


if __name__ == '__main__':
    print(table())
