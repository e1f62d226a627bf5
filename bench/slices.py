"""How to bound a time slice, measured: the same guest loop (userland/asm/bench_crc.S) run
to the end in slices bounded four ways, on the machine's CPU with the kernel's page tables.

  none       one uncounted emu_start: the floor
  count      emu_start(count=N): Unicorn counts every instruction (deterministic); ukern's choice
  timeout    emu_start(timeout=...): a host timer thread (not deterministic)
  block hook a Python UC_HOOK_BLOCK that counts blocks and stops the slice (deterministic):
             not run to the end here, it makes a Python call per basic block (about 33 M
             of them for this loop), far slower than counting

ukern counts (deterministically) only while something depends on it, and otherwise runs
uncounted (kernel.py, _slice_length).
"""

import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emu.machine import Machine                     # noqa: E402
from kernel.kernel import Kernel                    # noqa: E402

PROGRAM = ROOT / 'build' / 'userland' / 'asm' / 'bench_crc'
SLICE = 100_000


def _kernel():
    machine = Machine(64 << 20, console_sink=lambda b: None, console_source=io.BytesIO())
    kernel = Kernel(machine, log=lambda m: None)
    p = kernel.spawn(PROGRAM.read_bytes(), [b'crc'], [])
    kernel._switch_to(p)
    return kernel, p


def run(way: str) -> float:
    kernel, p = _kernel()
    cpu = kernel.cpu
    t = time.perf_counter()
    while p.state.value != 'zombie':
        count = SLICE if way == 'count' else 0
        timeout = 10 if way == 'timeout' else 0
        trap, _ = cpu.run(cpu.reg('rip'), count, timeout)
        if trap is not None:
            kernel._unhandled_trap(p, trap)
    return time.perf_counter() - t


def table() -> str:
    times = {way: min(run(way) for _ in range(2)) for way in ('none', 'count', 'timeout')}
    out = [f'| bounding a slice (CRC loop, slices of {SLICE:,} instructions or 10 ms) | seconds | / none '
           f'| deterministic |', '|---|---|---|---|']
    for way, det in (('none', '-'), ('count', 'yes'), ('timeout', 'no')):
        out.append(f'| {way} | {times[way]:.3f} | {times[way] / times["none"]:.2f} | {det} |')
    out.append('| Python block hook | (not run to the end: a Python call per basic block) | | yes |')
    return '\n'.join(out)


if __name__ == '__main__':
    print(table())
