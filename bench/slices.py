"""How to bound a time slice, measured: the same guest loop (userland/asm/bench_crc.S, eight
instructions a translated block) run to the end in slices bounded each way, on the machine's
CPU with the kernel's page tables.

  none          one uncounted emu_start: the floor (blocks translated without any hook call)
  native        the native block counter (emu/native/slicecount.c): a C UC_HOOK_BLOCK callback
                that Unicorn calls inline once per translated block; it counts instructions
                exactly and stops the slice at the first block boundary past its budget
                (deterministic); ukern's choice for every counted slice
  native, 1M    the same in slices ten times longer: what is left is the cost per slice
  count         emu_start(count=N): Unicorn calls a hook before every instruction (deterministic,
                stops exactly after N); ukern uses it only to single-step, and as the fallback
                when the native counter cannot be built
  timeout       emu_start(timeout=...): a host timer thread (not deterministic)
  Python block  a Python UC_HOOK_BLOCK that counts blocks and stops the slice (deterministic):
                not run to the end here, it makes a Python call per block (about 37 M of them
                for this loop), far slower than count

ukern counts (deterministically) only while something depends on it, and otherwise runs
uncounted (kernel.py, _slice_length).  Counted and uncounted slices run separately translated
blocks (cpu.py, _select_blocks), so an uncounted slice pays nothing for the counter.

The second table is the same comparison on whole runs: the CRC work split over two forked
children (userland/tests/crc_fork.c), which the kernel must preempt, against one child alone,
start-up subtracted, with the native counter and with count= bounding the slices.
"""

import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import emu.cpu                                      # noqa: E402
from emu.machine import Machine                     # noqa: E402
from kernel.kernel import Kernel                    # noqa: E402

PROGRAM = ROOT / 'build' / 'userland' / 'asm' / 'bench_crc'
SLICE = 100_000
WAYS = (('none', '-'), ('native', 'yes'), ('native, 1M', 'yes'), ('count', 'yes'), ('timeout', 'no'))


def _kernel():
    machine = Machine(64 << 20, console_sink=lambda b: None, console_source=io.BytesIO())
    kernel = Kernel(machine, log=lambda m: None)
    p = kernel.spawn(PROGRAM.read_bytes(), [b'crc'], [])
    kernel._switch_to(p)
    return kernel, p


def run(way: str) -> tuple[float, int]:
    """Seconds to run the loop to its exit, and the instructions the slices counted."""
    kernel, p = _kernel()
    cpu = kernel.cpu
    count = {'none': 0, 'timeout': 0, 'native, 1M': 10 * SLICE}.get(way, SLICE)
    timeout = 10 if way == 'timeout' else 0
    counted = 0
    t = time.perf_counter()
    while p.state.value != 'zombie':
        trap, retired = cpu.run(cpu.reg('rip'), count, timeout, exact=way == 'count')
        counted += retired
        if trap is not None:
            kernel._unhandled_trap(p, trap)
    return time.perf_counter() - t, counted


def fork_ratio(native: bool, reps: int = 2) -> float:
    """Two forked children sharing the CRC work / one child doing it alone (bench/run.py)."""
    import run as bench_run
    real = emu.cpu._native_counter
    if not native:
        emu.cpu._native_counter = lambda uc: None
    try:
        return bench_run.crc_fork_work(reps, 2) / bench_run.crc_fork_work(reps, 1)
    finally:
        emu.cpu._native_counter = real


def table() -> str:
    best = {}
    for way, _ in WAYS:
        runs = [run(way) for _ in range(2)]
        best[way] = min(r[0] for r in runs), runs[0][1]
    none = best['none'][0]
    out = [f'| bounding a slice (CRC loop, slices of {SLICE:,} instructions or 10 ms) | seconds | / none '
           f'| instructions counted | deterministic |', '|---|---|---|---|---|']
    for way, det in WAYS:
        seconds, counted = best[way]
        out.append(f'| {way} | {seconds:.3f} | {seconds / none:.2f} | {counted:,} | {det} |')
    out.append('| Python block hook | (not run to the end: a Python call per block) | | | yes |')
    sys.path.insert(0, str(ROOT / 'bench'))
    out += ['', '| two forked children sharing the CRC work / one child alone (start-up subtracted) '
            '| ratio | target |', '|---|---|---|',
            f'| slices bounded by the native block counter | {fork_ratio(True):.2f} | <= 1.5 |',
            f'| slices bounded by count= (before; the fallback) | {fork_ratio(False):.2f} | |']
    return '\n'.join(out)


if __name__ == '__main__':
    print(table())
