"""The crash sweep: cut the power at many points of a file-system workload and check the disk.

  python bench/crash.py [--points 200] [--image DISK]   -> prints a line per failure and a
                                                            summary, writes bench/CRASH.md

The workload is /tests/crashload (userland/tests/crashload.c): it creates, appends, renames
and deletes files under /crash, calls fsync, and after each fsync prints what is durable.
A whole run first counts its disk transfers (the --power-fail numbering, emu/powerfail.py);
then, for each cut point N spread evenly over that range, on a fresh copy of the image:

  1. run the workload in-process with the power failing at transfer N;
  2. e2fsck -p on a copy of the ext2 partition exits 0 or 1 (fixed what a crash may
     leave, asked nothing), and e2fsck -fn on that copy then finds nothing;
  3. every file reported durable before the cut reads back (debugfs, from that copy)
     with its synced contents;
  4. ukern boots on the crashed image itself (its mount-time check repairs it), runs
     `crashload check` on the same files, shuts down, and e2fsck -fn finds nothing.

tests/test_crash.py runs the same 200-point sweep in `make test` (about two minutes);
`make crash` runs it too and writes bench/CRASH.md.
"""

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WORKLOAD = b'/tests/crashload'
MEM = 64 << 20


@dataclass
class Run:
    output: str
    cut: bool                   # the power failed (else the workload ran to its end)
    transfers: int              # disk transfers started
    log: list = field(default_factory=list)
    status: int = 0


def run_guest(image: Path, argv: list[bytes], power_fail: int | None = None) -> Run:
    """Boot ukern on image in this process and run argv; shut down cleanly unless the
    power fails first."""
    from emu.disk_image import DiskImage
    from emu.machine import Machine
    from emu.powerfail import PowerFailed
    from kernel.kernel import Kernel
    out = bytearray()
    log: list[str] = []
    disk = DiskImage(image)
    machine = Machine(MEM, console_sink=out.extend, console_source=io.BytesIO(b''),
                      disks=[disk], power_fail=power_fail)
    kernel = Kernel(machine, log=log.append)
    cut, status = False, 0
    try:
        kernel.mount_root()
        p = kernel.spawn(kernel.read_guest_file(argv[0]), argv, [])
        kernel.run()
        status = p.exit_status
        kernel.shutdown()
    except PowerFailed:
        cut = True
    finally:
        disk.close()
    return Run(out.decode(errors='replace'), cut, machine.power.transfers, log, status)


def durable_files(output: str) -> dict[str, tuple[int, int, str]]:
    """name -> (length, FNV-1a sum, 'durable' or 'prefix') of what the workload promised
    before the cut (a later line about a name replaces an earlier one; 'gone' drops it)."""
    files: dict[str, tuple[int, int, str]] = {}
    for line in output.splitlines():
        words = line.split()
        if len(words) == 4 and words[0] in ('durable', 'prefix'):
            files[words[1]] = (int(words[2]), int(words[3]), words[0])
        elif len(words) == 2 and words[0] == 'gone':
            files.pop(words[1], None)
    return files


def fnv1a(data: bytes) -> int:
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def partition(image: Path, out: Path) -> Path:
    """Partition 1 of image alone (e2fsck and debugfs take no offset)."""
    from kernel.tools.mkdisk import extract_partition
    return extract_partition(image, out)


def e2fsck(*args) -> subprocess.CompletedProcess:
    return subprocess.run(['e2fsck', *map(str, args)], capture_output=True, text=True)


def read_back(part: Path, names: list[str], scratch: Path) -> dict[str, bytes | None]:
    """The files' contents through debugfs (one process for all), None where missing."""
    commands = scratch / 'debugfs.cmd'
    commands.write_text(''.join(f'dump {name} {scratch / str(i)}\n' for i, name in enumerate(names)))
    for i in range(len(names)):
        (scratch / str(i)).unlink(missing_ok=True)
    subprocess.run(['debugfs', '-f', str(commands), str(part)], capture_output=True)
    return {name: (scratch / str(i)).read_bytes() if (scratch / str(i)).exists() else None
            for i, name in enumerate(names)}


def matches(data: bytes | None, length: int, total: int, kind: str) -> bool:
    if data is None or len(data) < length or (kind == 'durable' and len(data) != length):
        return False
    return fnv1a(data[:length]) == total


def check_cut(pristine: Path, point: int, scratch: Path) -> list[str]:
    """Cut the power at transfer `point` of the workload; the problems found (none: [])."""
    from kernel.tools.mkdisk import copy_sparse
    image = scratch / 'disk.img'
    copy_sparse(pristine, image)
    run = run_guest(image, [WORKLOAD], power_fail=point)
    files = durable_files(run.output)
    problems = []
    if not run.cut and 'crashload: done' not in run.output:
        problems.append(f'the workload failed: {run.output[-300:]!r}')
    part = partition(image, scratch / 'p1.img')
    preen = e2fsck('-p', part)
    if preen.returncode not in (0, 1):
        problems.append(f'e2fsck -p exited {preen.returncode}: {(preen.stdout + preen.stderr).strip()[-600:]}')
    else:
        after = e2fsck('-fn', part)
        if after.returncode:
            problems.append(f'e2fsck -fn after -p exited {after.returncode}: {after.stdout.strip()[-600:]}')
    for name, data in read_back(part, sorted(files), scratch).items():
        length, total, kind = files[name]
        if not matches(data, length, total, kind):
            got = 'missing' if data is None else f'{len(data)} bytes, sum {fnv1a(data[:length])}'
            problems.append(f'after e2fsck -p, {name}: {got}, expected {kind} {length} bytes, sum {total}')
    specs = [f'{name}:{n}:{s}:{kind}'.encode() for name, (n, s, kind) in sorted(files.items())]
    again = run_guest(image, [WORKLOAD, b'check'] + specs)
    if again.status or again.output.count('ok ') != len(specs):
        problems.append(f'ukern on the crashed image: {again.output.strip()[-600:]} {again.log}')
    final = e2fsck('-fn', partition(image, scratch / 'p1.img'))
    if final.returncode:
        problems.append(f'e2fsck -fn after ukern\'s own repair exited {final.returncode}: '
                        f'{final.stdout.strip()[-600:]}')
    return problems


def cut_points(total: int, count: int) -> list[int]:
    """count cut points spread evenly over transfers 1..total (all of them if fewer)."""
    if count >= total:
        return list(range(1, total + 1))
    return sorted({1 + round(i * (total - 1) / (count - 1)) for i in range(count)})


def whole_run_transfers(pristine: Path, scratch: Path) -> int:
    from kernel.tools.mkdisk import copy_sparse
    image = scratch / 'whole.img'
    copy_sparse(pristine, image)
    run = run_guest(image, [WORKLOAD], power_fail=1 << 40)
    if run.cut or 'crashload: done' not in run.output:
        raise RuntimeError(f'the workload did not run to its end: {run.output[-300:]!r}')
    return run.transfers


def sweep(pristine: Path, points: int, progress=None) -> tuple[int, list[int], dict[int, list[str]]]:
    """(transfers of a whole run, the cut points, {point: problems} for the failing ones)."""
    with tempfile.TemporaryDirectory(prefix='crash-') as tmp:
        scratch = Path(tmp)
        total = whole_run_transfers(pristine, scratch)
        chosen = cut_points(total, points)
        failures = {}
        for i, point in enumerate(chosen):
            problems = check_cut(pristine, point, scratch)
            if problems:
                failures[point] = problems
            if progress:
                progress(i, len(chosen), point, problems)
        return total, chosen, failures


def report(total: int, chosen: list[int], failures: dict, seconds: float) -> str:
    lines = ['# Crash sweep', '',
             'Written by `make crash` (bench/crash.py): the power is cut at each of these disk',
             'transfers of the /tests/crashload workload (userland/tests/crashload.c), and the disk',
             'is checked with e2fsck -p then -fn, debugfs, and by booting ukern on it (its',
             'mount-time check repairs the file system; e2fsck -fn must then find nothing).', '',
             f'- transfers in a whole run: {total}',
             f'- cut points tried: {len(chosen)} (from {chosen[0]} to {chosen[-1]})',
             f'- cut points with a problem: {len(failures)}',
             f'- time: {seconds:.0f} s', '']
    for point, problems in sorted(failures.items()):
        lines.append(f'## cut at transfer {point}')
        lines += [f'- {p}' for p in problems] + ['']
    return '\n'.join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--points', type=int, default=200, help='cut points (default 200)')
    parser.add_argument('--image', type=Path, default=ROOT / 'build' / 'disk.img',
                        help='the disk image to start from (default build/disk.img)')
    parser.add_argument('--out', type=Path, default=ROOT / 'bench' / 'CRASH.md')
    args = parser.parse_args(argv)

    def progress(i, n, point, problems):
        if problems:
            print(f'cut at {point}: ' + '; '.join(problems), flush=True)
        elif (i + 1) % 20 == 0:
            print(f'{i + 1}/{n} cut points checked', flush=True)
    start = time.monotonic()
    total, chosen, failures = sweep(args.image, args.points, progress)
    text = report(total, chosen, failures, time.monotonic() - start)
    args.out.write_text(text)
    print(f'{len(chosen)} cut points over {total} transfers, {len(failures)} with problems '
          f'({os.path.relpath(args.out)})')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
