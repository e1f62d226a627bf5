"""The replacement policies measured under the kernel itself: the same guest workloads
(userland/tests/pagework.c: hot set with a scan, a loop, random pages) run with each
--policy at several memory sizes, and the major faults (swap-ins) they cost.

  python bench/kernel_policies.py [--quick]   -> appends a table to bench/POLICIES.md

The simulator (bench/policies.py) sees every access; here the policies see only what the
CPU's Accessed bits tell at reclaim time, which is what a real kernel has.
"""

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emu.disk_image import DiskImage                    # noqa: E402
from emu.machine import Machine                         # noqa: E402
from kernel.kernel import Kernel                        # noqa: E402
from kernel.mm.policy import POLICIES                   # noqa: E402

PROGRAM = ROOT / 'build' / 'userland' / 'tests' / 'pagework'
WORKLOADS = ('hotscan', 'loop', 'random')


def run(workload: str, policy: str, mem_mib: int, footprint_mib: int, passes: int, tmp: Path) -> dict:
    swap = DiskImage.create(tmp / f'swap-{policy}-{workload}-{mem_mib}.img', 2 * (footprint_mib + mem_mib) * 2048)
    machine = Machine(mem_mib << 20, console_sink=lambda b: None, console_source=io.BytesIO(),
                      disks=[None, swap])
    kernel = Kernel(machine, log=lambda m: None, policy=policy)
    kernel.enable_swap()
    p = kernel.spawn(PROGRAM.read_bytes(), [b'pagework', workload.encode(), str(footprint_mib).encode(),
                                            str(passes).encode()], [])
    t = time.perf_counter()
    kernel.run()
    stats = kernel.vmstat
    return dict(status=p.exit_status, major=stats['pgmajfault'], swapout=stats['pswpout'],
                seconds=time.perf_counter() - t)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('--out', default=str(ROOT / 'bench' / 'POLICIES.md'))
    args = ap.parse_args(argv)
    footprint = 4 if args.quick else 8
    sizes = [footprint // 2 + 2, footprint + 2] if args.quick else [footprint // 2 + 2, 3 * footprint // 4 + 2, footprint + 2]
    passes = 2 if args.quick else 3
    lines = ['', '## Measured under the kernel', '',
             f'`bench/kernel_policies.py`: userland/tests/pagework.c over {footprint} MiB, {passes} passes; '
             'major faults (pages brought back from swap) per policy and machine memory '
             '(about 1.5 MiB of each machine goes to the kernel\'s low area and page tables).', '',
             '| workload | memory | ' + ' | '.join(sorted(POLICIES)) + ' |',
             '|---|---|' + '---|' * len(POLICIES)]
    with tempfile.TemporaryDirectory() as tmp:
        for workload in WORKLOADS:
            for mem in sizes:
                cells = []
                for policy in sorted(POLICIES):
                    r = run(workload, policy, mem, footprint, passes, Path(tmp))
                    cells.append(str(r['major']) if r['status'] == 0 else f"killed ({r['status']})")
                lines.append(f'| {workload} | {mem} MiB | ' + ' | '.join(cells) + ' |')
                print(lines[-1], flush=True)
    out = Path(args.out)
    text = out.read_text() if out.exists() else '# Replacement policies\n'
    marker = '\n## Measured under the kernel'
    text = text.split(marker)[0].rstrip('\n') + '\n'
    out.write_text(text + '\n'.join(lines) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
