"""The object store's crash sweep: cut the power at every disk command of a workload, and
check after each cut that the store is consistent and no older than what was committed.

    .venv/bin/python bench/objcrash.py [--first N] [--count N]    (make crash-objects)

The workload is /tests/objcrash (userland/tests/objcrash.c): a counter page and 256 pages
that every round set to the round's number, one by one, the counter page saying after each
how many are done; then ukern_objsync, which prints "committed N" once the checkpoint
holding round N has committed.  A pristine image is made once
(the objects exist, counter at 1); for every cut N, a copy of it runs the workload with the
power failing at the disks' Nth transfer (emu/powerfail.py), with --checkpoint-ms 2 so
periodic checkpoints are cut too.  Then:

  1. `ukern objstore check` finds nothing wrong (kernel/obj/verify.py);
  2. the state the next boot recovers (read over the log, as recovery will) is one instant:
     with counter c and k pages done, pages 0..k-1 read c and the others c - 1;
  3. c is no older than the last "committed" the cut run printed;
  4. the next boot (a workload of zero rounds) starts from exactly c: recovery replays
     what committed and was not yet home, and the counter never goes backwards.

Writes bench/CRASH_OBJECTS.md with the counts.  tests/test_checkpoint.py runs a sample.
"""

import argparse
import io
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emu.machine import Machine                         # noqa: E402
from emu.powerfail import PowerFailed                   # noqa: E402
from kernel.kernel import Kernel                        # noqa: E402
from kernel.tools.mkdisk import attach_disks            # noqa: E402

COUNTER_SLOT, DIRECTORY_SLOT, GROUPS, PER_GROUP, PROGRESS = 5, 6, 8, 32, 1000   # as objcrash.c
CHECKPOINT_MS = 2


def run(image, rounds: int, power_fail: int | None = None) -> tuple[str, bool, int, int]:
    """Boot `image`, run objcrash ROUNDS with the object server; (output, cut?, transfers
    of every disk, transfers of the store's controller: the ones /sbin/objsrv issued).
    When the cut falls in one of objsrv's commands, the output ends "cut in objsrv"."""
    out = bytearray()
    disk, store_disk = attach_disks(image)
    machine = Machine(64 << 20, console_sink=out.extend, console_source=io.BytesIO(b''),
                      disks=[disk], store_disk=store_disk, power_fail=power_fail)
    kernel = Kernel(machine, quantum=100_000, log=lambda line: out.extend(line.encode() + b'\n'))
    cut = False
    try:
        kernel.mount_root()                     # starts /sbin/objsrv, which opens the store
        kernel.objects.checkpoints.period_ns = CHECKPOINT_MS * 1_000_000
        kernel.spawn(kernel.read_guest_file(b'/tests/objcrash'), [b'objcrash', str(rounds).encode()], [])
        kernel.run()
        kernel.shutdown()
    except PowerFailed:
        cut = True
        if machine.store_ahci.cut_here:
            out.extend(b'cut in objsrv\n')
    finally:
        disk.close()
        store_disk.close()
    return out.decode(errors='replace'), cut, machine.power.transfers, machine.store_ahci.transfers


def run_cli(image, rounds: int, power_fail: int) -> tuple[str, bool]:
    """The same through the command line: `ukern run --disk IMAGE --power-fail N ...`."""
    import subprocess
    r = subprocess.run([sys.executable, '-m', 'kernel', 'run', '--disk', str(image), '--swap', '0',
                        '--checkpoint-ms', str(CHECKPOINT_MS), '--power-fail', str(power_fail),
                        '/tests/objcrash', str(rounds)], capture_output=True, text=True, cwd=ROOT,
                       timeout=600)
    return r.stdout, r.returncode == 3


def recovered_state(image) -> tuple[list[str], int | None, list[int]]:
    """(problems, counter word, page values) of the state the next boot recovers."""
    from kernel.obj import verify
    from kernel.obj.layout import CapType, ObjectKind
    from kernel.obj.store import ObjectStoreError, partition_device
    from kernel.obj.store import open as open_store
    try:
        with partition_device(image, readonly=True) as dev:
            store = open_store(dev, replay=False)
            problems = verify.problems(store)
            root = next(r for r in store.ranges if r.kind == ObjectKind.NODE).start_oid
            if problems or not store.is_allocated(root):
                return problems, None, []

            def slot(node: int, index: int):
                cap = store.read_node(node).slots[index]
                return cap.oid if cap.type != CapType.VOID and store.is_current(cap) else None

            def value(oid: int) -> int:
                return int.from_bytes(store.read_object(oid)[:8], 'little', signed=True)
            counter, directory = slot(root, COUNTER_SLOT), slot(root, DIRECTORY_SLOT)
            pages = []
            for g in range(GROUPS):
                group = slot(directory, g) if directory else None
                for i in range(PER_GROUP):
                    oid = slot(group, i) if group else None
                    if oid is not None:
                        pages.append(value(oid))
            return [], value(counter) if counter else None, pages
    except (ObjectStoreError, OSError) as err:
        return [str(err)], None, []


def last_committed(output: str) -> int:
    values = [int(line.split()[1]) for line in output.splitlines() if line.startswith('committed ')]
    return values[-1] if values else 0


def start_value(output: str) -> int | None:
    return next((int(line.split()[1]) for line in output.splitlines() if line.startswith('start ')), None)


def one_instant(word: int, pages: list[int]) -> bool:
    """The counter word says round c, k pages done: pages 0..k-1 read c, the rest c - 1."""
    counter, done = divmod(word, PROGRESS)
    return pages == [counter] * done + [counter - 1] * (len(pages) - done)


def make_pristine(master, path) -> tuple[Path, int, int]:
    """A copy of master after one whole run (objects made); and the transfers of a run:
    every disk's, and the store controller's alone."""
    from kernel.tools.mkdisk import copy_sparse
    copy_sparse(master, path)
    output, cut, _, _ = run(path, 1)
    assert not cut and 'committed 1' in output, output
    twin = Path(str(path) + '.twin')
    copy_sparse(path, twin)
    output, cut, transfers, store_transfers = run(twin, 2)
    twin.unlink()
    assert 'committed 3' in output, output
    return Path(path), transfers, store_transfers


STORE_CUTS: list[int] = []          # cuts that fell in a command of objsrv's (check_cut)


def check_cut(pristine, scratch, n: int, cli: bool = False) -> list[str]:
    """Cut at transfer n of a 2-round run (in this process, or by `ukern run` when cli);
    the problems found (empty: all is well)."""
    from kernel.tools.mkdisk import copy_sparse
    copy_sparse(pristine, scratch)
    output, cut = run_cli(scratch, 2, n) if cli else run(scratch, 2, power_fail=n)[:2]
    if not cut:
        return [f'cut {n}: the power never failed (the run has fewer transfers)']
    if output.endswith('cut in objsrv\n'):
        STORE_CUTS.append(n)
    problems, word, pages = recovered_state(scratch)
    if problems:
        return [f'cut {n}: {p}' for p in problems]
    committed = last_committed(output)
    counter = None if word is None else word // PROGRESS
    if counter is None or counter < max(committed, 1):
        return [f'cut {n}: counter {counter} is older than committed {committed}']
    if len(pages) != GROUPS * PER_GROUP or not one_instant(word, pages):
        return [f'cut {n}: counter word {word} with pages {sorted(set(pages))}: not one instant']
    again, cut_again, _, _ = run(scratch, 0)
    if cut_again or start_value(again) != counter:
        return [f'cut {n}: the next boot starts at {start_value(again)}, the store said {counter}']
    return []


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--first', type=int, default=1, help='first cut (default 1)')
    parser.add_argument('--count', type=int, default=0, help='cuts (default: every transfer of the run)')
    parser.add_argument('--step', type=int, default=1, help='cut at every STEP-th transfer only (default 1)')
    parser.add_argument('--out', default=str(ROOT / 'bench' / 'CRASH_OBJECTS.md'))
    args = parser.parse_args(argv)
    from kernel.tools.mkdisk import make_disk
    work = Path(ROOT / 'build' / 'objcrash')
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    master = work / 'master.img'
    make_disk(master, ROOT / 'build' / 'test-root', 64 << 20)
    started = time.monotonic()
    pristine, transfers, store_transfers = make_pristine(master, work / 'pristine.img')
    last = transfers if not args.count else min(transfers, args.first + args.count - 1)
    failures = []
    cuts = range(args.first, last + 1, max(1, args.step))
    for n in cuts:
        failures += check_cut(pristine, work / 'cut.img', n)
        print(f'cut {n}/{last}: {"ok" if not failures else failures[-1]}', flush=True)
    seconds = time.monotonic() - started
    Path(args.out).write_text(
        '# Object store crash sweep (bench/objcrash.py)\n\n'
        f'Workload: /tests/objcrash, 2 rounds of a counter and {GROUPS * PER_GROUP} pages, '
        f'--checkpoint-ms {CHECKPOINT_MS}; a whole run starts {transfers} disk transfers, '
        f'{store_transfers} of them on the object store\'s controller (issued by /sbin/objsrv).\n\n'
        f'| cuts | first | last | step | in objsrv\'s commands | failures | seconds |\n'
        f'|---|---|---|---|---|---|---|\n'
        f'| {len(cuts)} | {args.first} | {last} | {cuts.step} | {len(STORE_CUTS)} | {len(failures)} '
        f'| {seconds:.0f} |\n\n'
        + ''.join(f'- {f}\n' for f in failures))
    print(f'{len(cuts)} cuts ({len(STORE_CUTS)} in objsrv\'s commands), {len(failures)} failures, '
          f'{seconds:.0f} s')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
