"""ukern beside its peer: the same static programs, run start to finish by `ukern run` and by
Qiling (on the same Unicorn), in one run, each as a command a user would type.

  python bench/peers.py --qiling PYTHON      (make bench-peers)  -> writes bench/PEERS.md

PYTHON is an interpreter with Qiling installed (`make bench-peers` makes build/peers-venv
for it).  Each figure is the best of several runs of the whole command, start-up included;
the per-call and per-page rows subtract the same runner's time for a program that only
exits (asm/exit42), so they show what the work itself costs.  Peak RSS is the child's
ru_maxrss.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USERLAND = ROOT / 'build' / 'userland'
SYSCALLS = 100_000               # userland/asm/bench_getppid.S
PAGES = 100_000                  # fault_loop's argument below


@dataclass(frozen=True)
class Workload:
    name: str
    program: str                 # under build/userland
    args: tuple[str, ...] = ()


EMPTY = Workload('start-up: a program that only exits', 'asm/exit42')
WORKLOADS = (
    Workload('start-up: musl hello world', 'bin/hello'),
    Workload('compute: CRC-32 loop (64 x 64 KiB)', 'asm/bench_crc'),
    Workload(f'syscall: {SYSCALLS:,} getppid calls', 'asm/bench_getppid'),
    Workload(f'fault-heavy: touch {PAGES:,} fresh pages in order', 'tests/fault_loop', (str(PAGES),)),
    Workload(f'fault-heavy: touch {PAGES:,} fresh pages scattered', 'tests/fault_loop', (str(PAGES), 'random')),
)


def timed(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one command, its output thrown away."""
    t = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - t
    err = child.stderr.read().decode(errors='replace')
    child.stderr.close()
    if os.waitstatus_to_exitcode(status) < 0 or 'Traceback' in err:
        raise SystemExit(f'peers: {" ".join(cmd)} failed:\n{err}')
    return seconds, usage.ru_maxrss * 1024


def best(cmd: list[str], reps: int) -> tuple[float, int]:
    runs = [timed(cmd) for _ in range(reps)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def ukern_cmd(w: Workload, _rootfs: Path) -> list[str]:
    # 1 GiB of guest RAM: 100,000 pages must fit without swapping, as they do under Qiling.
    return [sys.executable, '-m', 'kernel', 'run', '--mem', '1G', str(USERLAND / w.program), *w.args]


def qiling_cmd(python: str):
    def cmd(w: Workload, rootfs: Path) -> list[str]:
        return [python, str(ROOT / 'bench' / 'qiling_run.py'), str(rootfs),
                str(rootfs / Path(w.program).name), *w.args]
    return cmd


def measure(runners: dict, reps: int, rootfs: Path) -> dict[str, dict[str, tuple[float, int]]]:
    """{runner: {workload name: (seconds, peak RSS)}}, the runners interleaved per workload
    so that a change in the machine's load hits both alike."""
    results = {name: {} for name in runners}
    for w in (EMPTY, *WORKLOADS):
        for name, cmd in runners.items():
            results[name][w.name] = best(cmd(w, rootfs), reps)
    return results


def table(results) -> str:
    u, q = results['ukern'], results['Qiling']
    out = ['| workload | ukern | Qiling | ukern / Qiling | peak RSS ukern / Qiling |',
           '|---|---|---|---|---|']
    for w in (EMPTY, *WORKLOADS):
        (tu, ru), (tq, rq) = u[w.name], q[w.name]
        out.append(f'| {w.name} | {tu:.3f} s | {tq:.3f} s | {tu / tq:.2f} | '
                   f'{ru >> 20} MB / {rq >> 20} MB |')
    per = [('per system call (getppid), start-up subtracted', WORKLOADS[2].name, SYSCALLS, 1e6, 'µs'),
           ('per page touched in order, start-up subtracted', WORKLOADS[3].name, PAGES, 1e6, 'µs'),
           ('per page touched scattered, start-up subtracted', WORKLOADS[4].name, PAGES, 1e6, 'µs')]
    for label, name, n, scale, unit in per:
        cu = (u[name][0] - u[EMPTY.name][0]) / n * scale
        cq = (q[name][0] - q[EMPTY.name][0]) / n * scale
        out.append(f'| {label} | {cu:.2f} {unit} | {cq:.2f} {unit} | {cu / cq:.2f} | |')
    return '\n'.join(out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument('--qiling', required=True, metavar='PYTHON', help='an interpreter with qiling installed')
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--out', default=str(ROOT / 'bench' / 'PEERS.md'))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix='ukern-peers-') as tmp:
        rootfs = Path(tmp)                 # Qiling's guest root: the programs, nothing else
        for w in (EMPTY, *WORKLOADS):
            shutil.copy(USERLAND / w.program, rootfs / Path(w.program).name)
        runners = {'ukern': ukern_cmd, 'Qiling': qiling_cmd(args.qiling)}
        text = table(measure(runners, args.reps, rootfs))
    version = subprocess.run([args.qiling, '-c', 'import qiling, unicorn; print(qiling.__version__, '
                              'unicorn.__version__)'], capture_output=True, text=True).stdout.split()
    header = ('# ukern and its peer\n\nWritten by `make bench-peers` (bench/peers.py): each command run '
              f'start to finish, best of {args.reps}, ukern and Qiling {version[0]} (Unicorn {version[1]}) '
              'interleaved in one run on the same machine. Compare the ratios.\n\n')
    print(text)
    Path(args.out).write_text(header + text + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
