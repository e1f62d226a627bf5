"""The disk benchmark's read rows, interleaved, for comparing a change to the read path.

    python bench/readloop.py [N] [read odirect zero plain]

runs the chosen rows of bench/run.py's disk_io (a 64 MiB file read in 1 MiB pieces by
/tests/readmodes: read(), O_DIRECT, the same loop on /dev/zero, plain Python on the
image) one after the other, N rounds, and prints each row's best and median MB/s and
their ratios.  Interleaving the rows makes a noisy machine disturb them alike.
"""

import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import io_bench                                  # noqa: E402

MIB = 64


def rate(seconds: float) -> float:
    return MIB * 1.048576 / seconds


def guest(image: Path, mode: str, path: str, *size: str) -> float:
    out, seconds, _ = io_bench.guest(image, '/tests/readmodes', mode, path, *size,
                                     mem=128 << 20, prefault=True)
    assert f'{mode}: {MIB << 20} bytes' in out, out
    return rate(seconds)


def plain(image: Path) -> float:
    return rate(io_bench.plain_read(image, MIB))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        compare(io_bench.make_image(Path(tmp), MIB), int(sys.argv[1]) if len(sys.argv) > 1 else 5)


def compare(image: Path, rounds: int) -> None:
    rows = {'read': lambda: guest(image, 'read', '/big'),
            'odirect': lambda: guest(image, 'odirect', '/big'),
            'zero': lambda: guest(image, 'read', '/dev/zero', str(MIB << 20)),
            'plain': lambda: plain(image)}
    chosen = sys.argv[2:] or list(rows)
    rates = {name: [] for name in chosen}
    for _ in range(rounds):
        for name in chosen:
            rates[name].append(rows[name]())
    best = {name: max(r) for name, r in rates.items()}
    for name, r in rates.items():
        print(f'{name:8} best {best[name]:7.0f} median {statistics.median(r):7.0f} MB/s')
    for a, b in (('read', 'zero'), ('read', 'plain'), ('odirect', 'plain')):
        if a in best and b in best:
            print(f'{a} / {b}: {best[a] / best[b]:.2f}')


if __name__ == '__main__':
    main()
