"""I/O benchmarks for page-level asynchronous I/O and direct I/O (seeds 000 and 003).

overlap: a guest reads a 64 MiB file in 1 MiB pieces and checksums each; read() against
         ukern_aread issued one piece ahead, in virtual time (the disk's latency model and
         counted instructions) and host time; compared with the compute alone and the
         disk alone, the larger of which the asynchronous version should approach.
copies:  bytes the kernel copied, and host time, for a 64 MiB read with read(), O_DIRECT
         and MAP_DIRECT.
"""

import gc
import io
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emu.disk_image import DiskImage               # noqa: E402
from emu.machine import Machine                    # noqa: E402
from kernel.kernel import Kernel                   # noqa: E402
from kernel.tools.mkdisk import make_disk          # noqa: E402

PROGRAMS = ROOT / 'build' / 'userland' / 'tests'


def make_image(tmp: Path, mib: int) -> Path:
    root = tmp / 'root'
    (root / 'tests').mkdir(parents=True)
    for name in ('overlap', 'readmodes', 'writeseq'):
        (root / 'tests' / name).write_bytes((PROGRAMS / name).read_bytes())
    (root / 'big').write_bytes(bytes(range(256)) * (mib << 12))
    image = tmp / 'disk.img'
    make_disk(image, root, (2 * mib + 48) << 20)       # room for a copy (the write row)
    return image


def plain_read(image: Path, mib: int) -> float:
    """Seconds plain Python takes to read the `mib` MiB of file data in the image (from its
    second MiB on, where make_image puts them) in 1 MiB pieces: the disk rows' floor."""
    t = time.perf_counter()
    with open(image, 'rb') as f:
        f.seek(1 << 20)
        while f.read(1 << 20) and f.tell() < (mib + 1) << 20:
            pass
    return time.perf_counter() - t


def guest(image: Path, *argv: str, exact: bool = False, mem: int = 256 << 20, prefault: bool = False):
    """Run a guest program from the image; returns (its output, host seconds, kernel)."""
    out = bytearray()
    machine = Machine(mem, console_sink=out.extend, console_source=io.BytesIO(),
                      disks=[DiskImage(image)], prefault=prefault)
    kernel = Kernel(machine, log=lambda m: None)
    kernel.exact_clock = exact
    kernel.mount_root()
    kernel.spawn(kernel.read_guest_file(argv[0].encode()), [a.encode() for a in argv], [])
    # The machine of the run before is garbage held in reference cycles: freeing its RAM
    # (an munmap of up to a few hundred MiB, 15 ms for 128 MiB here) must not fall inside
    # the timed run whose allocations happen to start the collection.
    gc.collect()
    t = time.perf_counter()
    kernel.run()
    return out.decode(), time.perf_counter() - t, kernel


def overlap(image: Path) -> list[tuple]:
    rows = []
    virtual = {}
    names = {'disk': 'the reads alone (O_DIRECT)', 'compute': 'the checksums alone',
             'sync': 'read (O_DIRECT), then checksum', 'async': 'ukern_aread one piece ahead'}
    for mode in ('disk', 'compute', 'sync', 'async'):
        text, host, kernel = guest(image, '/tests/overlap', mode, '/big', exact=True)
        virtual[mode] = int(re.search(r'(\d+) ns', text).group(1))
        rows.append((names[mode], virtual[mode] / 1e6, host))
    return rows, virtual


def copies(image: Path) -> list[tuple]:
    rows = []
    for mode in ('read', 'odirect', 'mapdirect'):
        text, host, kernel = guest(image, '/tests/readmodes', mode, '/big')
        rows.append((mode, kernel.vmstat['copy_bytes'], host, text.strip()))
    return rows


def table(tmp: Path, mib: int = 64) -> str:
    image = make_image(tmp, mib)
    rows, virtual = overlap(image)
    out = [f'| overlap ({mib} MiB in 1 MiB pieces, checksummed) | virtual ms | host s |', '|---|---|---|']
    out += [f'| {name} | {v:.1f} | {h:.2f} |' for name, v, h in rows]
    out.append(f'| async / sync, virtual time | {virtual["async"] / virtual["sync"]:.2f} | |')
    best = max(virtual['disk'], virtual['compute'])
    out.append(f'| async / max(disk alone, compute alone) | {virtual["async"] / best:.2f} | |')
    out += ['', f'| copies ({mib} MiB read) | bytes the kernel copied | host s |', '|---|---|---|']
    out += [f'| {mode} | {copied:,} | {host:.2f} |' for mode, copied, host, _ in copies(image)]
    return '\n'.join(out)


if __name__ == '__main__':
    import tempfile
    with tempfile.TemporaryDirectory() as t:
        print(table(Path(t), int(sys.argv[1]) if len(sys.argv) > 1 else 64))
