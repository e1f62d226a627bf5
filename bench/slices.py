"""How to bound a time slice, measured: the same guest loop (userland/asm/bench_crc.S, eight
instructions a translated block) run to the end in slices bounded each way, on the machine's
CPU with the kernel's page tables.

  none          one uncounted emu_start: the floor
  Unicorn counts
                ukern's build of Unicorn (emu/unicorn_build.py) counts each block in the check
                it makes at every block's start anyway; the native counter's rules (exact,
                deterministic, the slice stops at the first block boundary past its budget);
                ukern's choice for every counted slice where the build is there
  block hook    the same count, with the Unicorn pip installs (UKERN_UNICORN=stock): a C
                UC_HOOK_BLOCK callback (emu/native/slicecount.c) that Unicorn calls once per
                translated block; the fallback where the build is not there
  ..., 1M       the same in slices ten times longer: what is left is the cost per slice
  count         emu_start(count=N): Unicorn calls a hook before every instruction (deterministic,
                stops exactly after N); ukern uses it only to single-step, and as the fallback
                when the native counter cannot be built
  timeout       emu_start(timeout=...): a host timer thread (not deterministic)
  Python block  a Python UC_HOOK_BLOCK that counts blocks and stops the slice (deterministic):
                not run to the end here, it makes a Python call per block (about 37 M of them
                for this loop), far slower than count

ukern counts (deterministically) only while something depends on it, and otherwise runs
uncounted (kernel.py, _slice_length).  With the block hook, counted and uncounted slices run
separately translated blocks (cpu.py, _select_blocks), so an uncounted slice pays nothing.

One process loads one Unicorn library: the rows of the stock library are measured by this
file run again with UKERN_UNICORN=stock (--rows), in the same bench run.

The second table is the same comparison on whole runs: the CRC work split over two forked
children (userland/tests/crc_fork.c), which the kernel must preempt, against one child alone,
start-up subtracted, with each way of bounding the slices.
"""

import io
import json
import os
import subprocess
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
# (row, way of run(), deterministic, which library: 'patched' is ukern's build, 'here' the
# one this process runs on).  Each row is divided by `none` on its own library.
ROWS = (('none', 'none', '-', 'here'),
        ('Unicorn counts (ukern\'s build)', 'native', 'yes', 'patched'),
        ('Unicorn counts, 1M', 'native, 1M', 'yes', 'patched'),
        ('none (stock Unicorn)', 'none', '-', 'stock'),
        ('block hook (stock Unicorn)', 'native', 'yes', 'stock'),
        ('block hook, 1M', 'native, 1M', 'yes', 'stock'),
        ('count', 'count', 'yes', 'here'),
        ('timeout', 'timeout', 'no', 'here'))


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


def fork_ratio(native: bool, reps: int = 3) -> float:
    """Two forked children sharing the CRC work / one child doing it alone (bench/run.py,
    the best of as many runs as its table takes)."""
    sys.path.insert(0, str(ROOT / 'bench'))
    import run as bench_run
    real = emu.cpu._native_counter
    if not native:
        emu.cpu._native_counter = lambda uc: None
    try:
        return bench_run.crc_fork_work(reps, 2) / bench_run.crc_fork_work(reps, 1)
    finally:
        emu.cpu._native_counter = real


def library() -> str:
    """'patched' if this process runs on ukern's build of Unicorn, else 'stock'."""
    return 'patched' if _kernel()[0].cpu._native.unicorn_counts else 'stock'


def measure(ways: list[str]) -> dict:
    """On this process's library: (best seconds of two runs, instructions counted) of each
    way, and the two-children ratio with the native counter ('fork')."""
    out = {}
    for way in ways:
        runs = [run(way) for _ in range(2)]
        out[way] = min(seconds for seconds, _ in runs), runs[0][1]
    out['fork'] = fork_ratio(True)
    return out


def measure_stock(ways: list[str]) -> dict | None:
    """The same, in a process on the stock library (None if it could not run)."""
    env = {**os.environ, 'UKERN_UNICORN': 'stock'}
    r = subprocess.run([sys.executable, __file__, '--rows', *ways], env=env, capture_output=True,
                       text=True)
    return json.loads(r.stdout) if r.returncode == 0 else None


def table() -> str:
    here = library()
    best = {here: measure(sorted({way for _, way, _, lib in ROWS if lib in ('here', here)}))}
    if here == 'patched':
        best['stock'] = measure_stock(sorted({way for _, way, _, lib in ROWS if lib == 'stock'}))
    out = [f'| bounding a slice (CRC loop, slices of {SLICE:,} instructions or 10 ms) | seconds | / none '
           f'| instructions counted | deterministic |', '|---|---|---|---|---|']
    for row, way, det, lib in ROWS:
        lib = here if lib == 'here' else lib
        if best.get(lib) is None:
            out.append(f'| {row} | (not measured: that library could not be loaded) | | | |')
            continue
        seconds, counted = best[lib][way]
        none = best[lib]['none'][0]
        out.append(f'| {row} | {seconds:.3f} | {seconds / none:.2f} | {counted:,} | {det} |')
    out.append('| Python block hook | (not run to the end: a Python call per block) | | | yes |')
    out += ['', '| two forked children sharing the CRC work / one child alone (start-up subtracted) '
            '| ratio | target |', '|---|---|---|']
    if best.get('patched'):
        out.append(f'| slices counted by Unicorn (ukern\'s build) | {best["patched"]["fork"]:.2f} | <= 1.5 |')
    if best.get('stock'):
        out.append(f'| slices counted by the block hook (stock Unicorn) | {best["stock"]["fork"]:.2f} | |')
    out.append(f'| slices bounded by count= (the fallback without a native counter) | {fork_ratio(False):.2f} | |')
    return '\n'.join(out)


if __name__ == '__main__':
    if sys.argv[1:2] == ['--rows']:
        print(json.dumps(measure(sys.argv[2:])))
    else:
        print(table())
