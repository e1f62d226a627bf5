"""`python -m fuzz` (what `make fuzz` runs): every fuzzer in turn, each for a share of the
time or a count of inputs, then the report bench/FUZZ.md.

  python -m fuzz [--seconds S] [--count N] [--counts NAME=N,...] [--seed N] [--only elf,disk,...]
                 [--report PATH]

`make fuzz` runs the counts issue #21 asks for (ISSUE_COUNTS).

Failing inputs are saved under tests/corpus/<fuzzer>/ (tests/test_corpus.py replays them).
"""

import argparse
import platform
import random
import sys
import time
from pathlib import Path

from . import ahci, disk, elf, syscalls
from .common import ROOT, Tally

FUZZERS = {'syscalls': syscalls, 'elf': elf, 'disk': disk, 'ahci': ahci}
WHAT = {'syscalls': 'system-call sequences (up to 24 calls each, in up to four processes and threads, hypothesis)',
        'elf': 'mutated or truncated executables',
        'disk': 'ext2 images with corrupted metadata, each running 8 programs (one from the image)',
        'ahci': 'AHCI register and command-list sequences'}
BATCH = {'syscalls': 100, 'elf': 50, 'disk': 10, 'ahci': 100}
# Shares of the time: the slow fuzzers (a guest per input, or a boot and seven programs)
# get more, so that one run tries thousands of each kind of input.
WEIGHT = {'syscalls': 5, 'elf': 1, 'disk': 3, 'ahci': 1}
ISSUE_COUNTS = 'syscalls=10000,elf=1000,disk=1000,ahci=10000'


def run_fuzzer(name: str, rng: random.Random, seconds: float | None, count: int | None) -> tuple[Tally, float]:
    """Run one fuzzer in batches until its time share or count is used up."""
    tally = Tally(name)
    began = time.monotonic()
    module = FUZZERS[name]
    while True:
        left = (count - tally.tried) if count is not None else BATCH[name]
        if left <= 0 or (seconds is not None and time.monotonic() - began >= seconds):
            break
        module.fuzz(tally, rng, min(BATCH[name], left))
        print(f'fuzz: {name}: {tally.tried} inputs, {len(tally.tracebacks)} tracebacks, '
              f'{len(tally.hangs)} hangs', file=sys.stderr, flush=True)
    return tally, time.monotonic() - began


def report(results: list[tuple[Tally, float]], seed: int) -> str:
    lines = ['# Fuzzing results', '',
             f'Written by `make fuzz` (`python -m fuzz`, seed {seed}) on {platform.machine()}, '
             f'Python {platform.python_version()}.  Each fuzzer and its property are described '
             'in fuzz/*.py; failing inputs are in tests/corpus/ and replayed by tests/test_corpus.py.', '',
             '| fuzzer | inputs | distinct outcomes | tracebacks | hangs | host seconds |',
             '|---|---:|---:|---:|---:|---:|']
    for t, secs in results:
        lines.append(f'| {t.name}: {WHAT[t.name]} | {t.tried} | {len(t.outcomes)} | '
                     f'{len(t.tracebacks)} | {len(t.hangs)} | {secs:.0f} |')
    for t, _ in results:
        lines += ['', f'## {t.name}', '']
        if t.name == 'syscalls':
            lines += [f'- {what}: {n}' for what, n in syscalls.coverage().items()] + ['']
        lines += [f'- {n} × {outcome}' for outcome, n in t.outcomes.most_common(25)]
        if len(t.outcomes) > 25:
            lines.append(f'- … and {len(t.outcomes) - 25} rarer outcomes')
        for kind, text, saved in t.saved:
            lines.append(f'- **{kind}**: `{text}` (saved as {saved})')
    return '\n'.join(lines) + '\n'


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog='python -m fuzz', description=__doc__.splitlines()[0])
    ap.add_argument('--seconds', type=float, help='total time, shared by the fuzzers (WEIGHT)')
    ap.add_argument('--count', type=int, help='inputs per fuzzer (instead of a time)')
    ap.add_argument('--counts', help=f'inputs per fuzzer, each its own (e.g. {ISSUE_COUNTS})')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--only', default=','.join(FUZZERS))
    ap.add_argument('--report', default=str(ROOT / 'bench' / 'FUZZ.md'))
    args = ap.parse_args(argv)
    names = [n for n in args.only.split(',') if n]
    unknown = [n for n in names if n not in FUZZERS]
    if unknown:
        ap.error(f'unknown fuzzer {", ".join(unknown)}; there are {", ".join(FUZZERS)}')
    counts = {n: args.count for n in names}
    for item in (args.counts or '').split(','):
        if item:
            name, _, n = item.partition('=')
            if name not in FUZZERS or not n.isdigit():
                ap.error(f'--counts {item}: expected NAME=N with NAME one of {", ".join(FUZZERS)}')
            counts[name] = int(n)
    if args.counts:
        names = [n for n in names if counts.get(n)]
    if args.seconds is None and not any(counts.values()):
        args.seconds = 300.0
    total = sum(WEIGHT[n] for n in names)
    share = {n: args.seconds * WEIGHT[n] / total if args.seconds is not None else None for n in names}
    rng = random.Random(args.seed)
    results = [run_fuzzer(n, random.Random(rng.getrandbits(64)), share[n], counts[n]) for n in names]
    Path(args.report).write_text(report(results, args.seed))
    print(f'fuzz: report in {args.report}', file=sys.stderr)
    return 1 if any(t.tracebacks or t.hangs for t, _ in results) else 0


if __name__ == '__main__':
    sys.exit(main())
