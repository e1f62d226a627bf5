"""ukern's benchmarks: each figure beside its floor, measured in the same run.

  python bench/run.py [--quick]      (make bench)  -> prints and writes bench/RESULTS.md

Machines here are shared and noisy, so each figure is the best of several repetitions and
the ratios (ukern / floor) are what to compare across runs, not the absolute times.
"""

import argparse
import io
import shutil
import subprocess
import tempfile
import sys
import time
from pathlib import Path

from elftools.elf.elffile import ELFFile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# emu first: it picks the Unicorn library (ukern's build) before unicorn is first imported,
# and the floors below must run on the same library as ukern.
from emu.machine import Machine                                   # noqa: E402
from unicorn import Uc, UC_ARCH_X86, UC_MODE_64, UC_PROT_ALL, UC_HOOK_INSN  # noqa: E402
from unicorn import x86_const as X                                # noqa: E402
from kernel.kernel import Kernel                                  # noqa: E402
from kernel.mm.frames import FrameAllocator                       # noqa: E402
from kernel.mm.pagetable import PageTable, PTE                    # noqa: E402

PROGRAMS = ROOT / 'build' / 'userland' / 'asm'
SYSCALLS_IN_BENCH = 100_000      # userland/asm/bench_getppid.S
PAGES_IN_BENCH = 10_000          # userland/asm/bench_touch.S
HANDOFF = ROOT / 'build' / 'userland' / 'tests' / 'thread_handoff'
FAULT_LOOP = ROOT / 'build' / 'userland' / 'tests' / 'fault_loop'
FAULT_LOOP_SIZES = (3_000, 30_000, 100_000)   # pages; µs per page should not grow with N
FAULT_LOOP_MEM = 1 << 30                     # room for 100,000 pages with no reclaim
HANDOFF_ROUNDS = 2000            # each round is two hand-offs (one each way)
CHURN = ROOT / 'build' / 'userland' / 'tests' / 'dir_churn'
CHURN_SIZES = (1_000, 4_000, 10_000)   # files created, then unlinked, in one directory
CRC_FORK = ROOT / 'build' / 'userland' / 'tests' / 'crc_fork'
CRC_FORK_ROUNDS = 256            # four times bench_crc's work (64 rounds over 64 KiB), shared
                                 # by the children: start-up's noise is small beside it


def best_of(n: int, fn) -> float:
    return min(fn() for _ in range(n))


# -- ukern -------------------------------------------------------------------------------
def ukern_program(path: Path, *args: str, mem: int = 128 << 20, strace: bool = False,
                  fault_around: bool = True, huge_pages: bool = True) -> float:
    """Seconds a program takes under the full kernel, from its first instruction to its
    exit (boot excluded); with `strace`, the strace view listens to every event (its text
    goes nowhere)."""
    machine = Machine(mem, console_sink=lambda b: None, console_source=io.BytesIO())
    kernel = Kernel(machine, log=lambda m: None)
    kernel.fault_around = fault_around
    kernel.huge_pages = huge_pages
    if strace:
        from kernel.trace.strace import Strace
        kernel.trace.subscribe(Strace(kernel, io.StringIO()))
    kernel.spawn(path.read_bytes(), [path.name.encode()] + [a.encode() for a in args], [])
    t = time.perf_counter()
    kernel.run()
    return time.perf_counter() - t


def ukern_time(program: str, strace: bool = False) -> float:
    """One of the assembly benchmark programs (userland/asm) under ukern."""
    return ukern_program(PROGRAMS / program, strace=strace)


def ukern_handoff() -> float:
    """µs per mutex hand-off between two threads under ukern (host time around the run)."""
    seconds = ukern_program(HANDOFF, str(HANDOFF_ROUNDS), mem=64 << 20)
    return seconds / (2 * HANDOFF_ROUNDS) * 1e6


def ukern_fault_loop(pages: int, order: str = 'seq', fault_around: bool = True,
                     huge_pages: bool = True) -> float:
    """µs per page for a program that mmaps `pages` fresh pages and writes a byte to each
    (userland/tests/fault_loop.c), in address order or shuffled; the whole run counts."""
    return ukern_program(FAULT_LOOP, str(pages), order, mem=FAULT_LOOP_MEM,
                         fault_around=fault_around, huge_pages=huge_pages) / pages * 1e6


def native_handoff() -> float:
    """The same static musl binary run by the host's Linux; it times itself."""
    out = subprocess.run([str(HANDOFF), str(HANDOFF_ROUNDS)], capture_output=True, text=True,
                         check=True).stdout.split()
    return int(out[3]) / int(out[1]) / 1000


def crc_fork_work(reps: int, children: int) -> float:
    """Seconds the CRC work takes when `children` forked children share it and run at once,
    less the same run with no work (start-up, fork, exit and wait)."""
    def run(rounds: int) -> float:
        return ukern_program(CRC_FORK, str(children), str(rounds))
    return best_of(reps, lambda: run(CRC_FORK_ROUNDS)) - best_of(reps, lambda: run(0))


def go_hello() -> Path | None:
    """tests/go/hello built static (tests/realprogs.py), or None where Go is not installed."""
    if shutil.which('go') is None:
        return None
    sys.path.insert(0, str(ROOT / 'tests'))
    from realprogs import go_program
    return go_program('hello')


def native_program(path: Path, *args: str) -> float:
    t = time.perf_counter()
    subprocess.run([str(path), *args], capture_output=True, check=True)
    return time.perf_counter() - t


# -- start-up and host memory: `ukern run` as a person runs it, in a fresh process -------------
HELLO = ROOT / 'build' / 'userland' / 'bin' / 'hello'
UKERN = [sys.executable, '-m', 'kernel', 'run']
UNICORN_ONLY = [sys.executable, '-c', 'import unicorn']


def compile_sources() -> None:
    """Byte-compile the kernel as a first run (or an install) would: with
    PYTHONDONTWRITEBYTECODE set, every start would otherwise compile it all again."""
    subprocess.run([sys.executable, '-m', 'compileall', '-q', str(ROOT / 'kernel'), str(ROOT / 'emu')],
                   check=True, stdout=subprocess.DEVNULL)


def child(cmd: list[str]) -> float:
    """Run a command; its wall time in seconds."""
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, cwd=ROOT, check=True)
    return time.perf_counter() - t


def start_up(reps: int) -> tuple[float, float]:
    """Seconds for `ukern run hello` from exec to exit, and for the bare interpreter that
    imports unicorn (the floor): the best of `reps` (at least five) each, taken in turns,
    as the machine's load changes from second to second."""
    compile_sources()
    runs = [(child(UKERN + [str(HELLO)]), child(UNICORN_ONLY)) for _ in range(max(reps, 5))]
    return min(r[0] for r in runs), min(r[1] for r in runs)


# The peak RSS is read inside the child, as its memory map's high-water mark (VmHWM) at exit:
# a child's ru_maxrss also counts the copy of the parent it was forked from before its exec,
# and this benchmark's parent is bigger than what it measures.
RSS_PROBE = """
import atexit, runpy, sys
def report():
    with open('/proc/self/status') as status:
        kb = next(int(line.split()[1]) for line in status if line.startswith('VmHWM:'))
    sys.stderr.write(f'VmHWM {kb}\\n')
atexit.register(report)
if sys.argv[1:]:
    sys.argv = ['ukern'] + sys.argv[1:]
    runpy.run_module('kernel', run_name='__main__')
else:
    import unicorn
"""


def peak_rss(*args: str) -> float:
    """MB of host memory at the peak of `ukern ARGS` (no ARGS: the interpreter importing
    unicorn, the floor)."""
    r = subprocess.run([sys.executable, '-c', RSS_PROBE, *args], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, cwd=ROOT, check=True)
    return int(r.stderr.rsplit('VmHWM ', 1)[1]) / 1024


# -- floors: bare Unicorn, no kernel ---------------------------------------------------------
def bare_unicorn(program: str) -> float:
    """The same machine code on bare Unicorn: segments mapped flat, no paging, no kernel,
    and an empty Python hook on `syscall`.  The run ends at the program's last `syscall`
    (its exit), given to Unicorn as the stop address."""
    data = (PROGRAMS / program).read_bytes()
    elf = ELFFile(io.BytesIO(data))
    uc = Uc(UC_ARCH_X86, UC_MODE_64)
    for seg in elf.iter_segments():
        if seg['p_type'] != 'PT_LOAD':
            continue
        start = seg['p_vaddr'] & ~0xFFF
        end = (seg['p_vaddr'] + seg['p_memsz'] + 0xFFF) & ~0xFFF
        uc.mem_map(start, end - start, UC_PROT_ALL)
        uc.mem_write(seg['p_vaddr'], seg.data())
    uc.mem_map(0x7000_0000, 1 << 20, UC_PROT_ALL)
    uc.reg_write(X.UC_X86_REG_RSP, 0x7000_0000 + (1 << 20) - 64)

    text = elf.get_section_by_name('.text')
    exit_at = text['sh_addr'] + text.data().rindex(b'\x0f\x05')
    uc.hook_add(UC_HOOK_INSN, lambda uc, _: None, None, 1, 0, X.UC_X86_INS_SYSCALL)
    t = time.perf_counter()
    uc.emu_start(elf['e_entry'], exit_at)
    return time.perf_counter() - t


def fault_floor() -> float:
    """Paging on, ring 3, and a fault hook that only maps one zeroed page (plus the #1883
    work-around that every handled fault needs): the least a demand-zero fault can cost."""
    machine = Machine(128 << 20, console_sink=lambda b: None)
    mem = machine.memory
    frames = FrameAllocator(mem, machine.first_free_frame, machine.mem_size)
    pt = PageTable(mem, frames)
    data = (PROGRAMS / 'bench_touch').read_bytes()
    elf = ELFFile(io.BytesIO(data))
    for seg in elf.iter_segments():
        if seg['p_type'] == 'PT_LOAD' and seg['p_filesz']:
            start = seg['p_vaddr'] & ~0xFFF
            image = bytes(seg['p_vaddr'] - start) + seg.data()
            for off in range(0, len(image), 4096):
                f = frames.alloc()
                mem.write(f, image[off:off + 4096])
                pt.map(start + off, f, int(PTE.U))
    machine.cpu.cr3 = pt.root
    flags = int(PTE.U | PTE.W)
    machine.cpu.on_trap = lambda trap: pt.map(trap.cr2 & ~0xFFF, frames.alloc(), flags) or True
    machine.cpu.on_syscall = lambda: False
    t = time.perf_counter()
    machine.cpu.run(elf['e_entry'])
    return time.perf_counter() - t


def disk_io(tmp: Path, mib: int = 64) -> dict[str, float]:
    """MB/s reading a `mib` MiB file sequentially in 1 MiB pieces: through the whole of
    ukern (a guest's read() -> ext2 -> buffer cache -> block layer -> AHCI DMA), the same
    with O_DIRECT (no cache: the disk DMAs into the user's buffer), the same read() loop
    on /dev/zero (no disk at all), and with plain Python file I/O on the same bytes of the
    image file; and writing a new file of that size in 1 MiB pieces, against plain Python
    writes to a new host file (in both, what is still dirty at the end is not waited for).
    Guest RAM is prefaulted (MAP_POPULATE), as physical RAM is simply there; 'cold' is the
    buffered read without that, where the host's first touch of each page of guest RAM
    (about 1 µs each) is counted too."""
    import io_bench
    image = io_bench.make_image(tmp, mib)

    def rate(seconds: float) -> float:
        return mib * 1.048576 / seconds

    def guest(done: str, *argv: str, prefault: bool = True) -> float:
        """A guest program that prints '<done>: <bytes> bytes' once it has moved them."""
        out, elapsed, _ = io_bench.guest(image, *argv, mem=128 << 20, prefault=prefault)
        assert f'{done}: {mib << 20} bytes' in out, out
        return rate(elapsed)

    def read(mode: str, path: str = '/big', prefault: bool = True, sized: bool = False) -> float:
        size = [str(mib << 20)] if sized else []        # /dev/zero has no end of its own
        return guest(mode, '/tests/readmodes', mode, path, *size, prefault=prefault)

    def plain() -> float:
        return rate(io_bench.plain_read(image, mib))

    def native(*argv: str) -> float:
        """The same guest binary run on the host, its file a host copy of the same bytes."""
        return rate(native_program(io_bench.PROGRAMS / 'readmodes', *argv))

    def plain_write() -> float:
        piece = bytes([0x5A]) * (1 << 20)
        t = time.perf_counter()
        with open(tmp / 'plain-copy', 'wb') as f:
            for _ in range(mib):
                f.write(piece)
        seconds = time.perf_counter() - t
        (tmp / 'plain-copy').unlink()
        return rate(seconds)

    return {'read': read('read'), 'odirect': read('odirect'), 'cold': read('read', prefault=False),
            'zero': read('read', '/dev/zero', sized=True), 'plain': plain(),
            'native_read': native('read', str(tmp / 'root' / 'big')),
            'native_zero': native('read', '/dev/zero', str(mib << 20)),
            'write': guest('write', '/tests/writeseq', '/copy', str(mib)),
            'plain_write': plain_write()}


def churn_image(tmp: Path) -> Path:
    """A disk holding /tests/dir_churn (mkdisk gives it inodes enough for the largest run)."""
    from kernel.tools.mkdisk import make_disk
    root = tmp / 'root'
    (root / 'tests').mkdir(parents=True)
    (root / 'tests' / 'dir_churn').write_bytes(CHURN.read_bytes())
    image = tmp / 'disk.img'
    make_disk(image, root, 64 << 20)
    return image


def ukern_churn(image: Path, n: int) -> float:
    """µs per file for N creates and N unlinks in one new ext2 directory under ukern, on a
    fresh copy of the disk each time (a run does not write its disk back at the end)."""
    import io_bench
    run_image = image.with_name('run.img')
    shutil.copyfile(image, run_image)
    out, seconds, _ = io_bench.guest(run_image, '/tests/dir_churn', str(n), '/churn', mem=128 << 20)
    assert f'dir_churn: {n} files' in out, out
    return seconds / n * 1e6


def native_churn(tmp: Path, n: int) -> float:
    """The same program run by the host's Linux in a host directory."""
    t = time.perf_counter()
    out = subprocess.run([str(CHURN), str(n), str(tmp / f'native{n}')], capture_output=True,
                         text=True, check=True).stdout
    seconds = time.perf_counter() - t
    assert f'dir_churn: {n} files' in out, out
    return seconds / n * 1e6


def read_ceiling(zero: float, plain: float) -> float:
    """The fastest a buffered read from the disk could be: it does all that the /dev/zero
    loop does, plus a DMA that copies the same bytes out of the image file as the plain
    read does, so its time is at least the sum of theirs (rates in, rate out)."""
    return 1 / (1 / zero + 1 / plain)


def measure(reps: int) -> list[tuple[str, str, float, str, float, str]]:
    rows = []
    crc = best_of(reps, lambda: ukern_time('bench_crc'))
    crc_floor = best_of(reps, lambda: bare_unicorn('bench_crc'))
    rows.append(('compute: CRC-32 loop (64 x 64 KiB)', 's', crc, 'bare Unicorn, no kernel', crc_floor,
                 'ukern / bare <= 1.10'))
    sc = best_of(reps, lambda: ukern_time('bench_getppid')) / SYSCALLS_IN_BENCH * 1e6
    sc_floor = best_of(reps, lambda: bare_unicorn('bench_getppid')) / SYSCALLS_IN_BENCH * 1e6
    rows.append(('syscall: getppid round trip', 'µs', sc, 'empty Python syscall hook', sc_floor, 'ukern <= 2 µs'))
    traced = best_of(reps, lambda: ukern_time('bench_getppid', strace=True)) / SYSCALLS_IN_BENCH * 1e6
    rows.append(('syscall with --strace listening', 'µs', traced, 'the same, tracing off (row above)', sc,
                 'what tracing costs when on'))
    hello, interpreter = start_up(reps)
    rows.append(('start-up: ukern run hello', 's', hello, 'Python importing unicorn, nothing else',
                 interpreter, 'ukern <= 0.15 s'))
    unicorn_rss = peak_rss()
    for mem in ('1G', '2G'):
        rows.append((f'host memory: peak RSS of ukern run --mem {mem} hello', 'MB',
                     peak_rss('run', '--mem', mem, str(HELLO)),
                     'Python importing unicorn, nothing else', unicorn_rss,
                     'ukern <= 50 MB' if mem == '1G' else ''))
    rows.append(('two runnable processes: CRC work (256 x 64 KiB) split over two forked children (counted slices)',
                 's', crc_fork_work(reps, 2), 'the same work in one child alone (uncounted)',
                 crc_fork_work(reps, 1), 'ukern / one child <= 1.5'))
    pf = best_of(reps, lambda: ukern_time('bench_touch')) / PAGES_IN_BENCH * 1e6
    pf_floor = best_of(reps, fault_floor) / PAGES_IN_BENCH * 1e6
    rows.append(('fault: demand-zero page fault', 'µs', pf, 'fault hook that maps one page', pf_floor, ''))
    # fault_loop: µs per page, set against the bare per-fault floor (below 1: cheaper than
    # taking a minimal fault on every page), and against the kernel with fault-around off
    per_page = {}
    for pages in FAULT_LOOP_SIZES:
        per_page[pages] = best_of(reps, lambda: ukern_fault_loop(pages))
        rows.append((f'fault_loop: {pages:,} fresh pages written in order, per page', 'µs',
                     per_page[pages], 'fault hook that maps one page', pf_floor, 'flat in N; <= 8 µs'))
    largest = max(FAULT_LOOP_SIZES)
    rows.append((f'fault_loop: {largest:,} in order with 2 MiB pages (mm/huge.py)', 'µs', per_page[largest],
                 'the same, 4 KiB entries only (--no-huge-pages)',
                 best_of(reps, lambda: ukern_fault_loop(largest, huge_pages=False)), '2 MiB pages: below 1.0'))
    seq_off = best_of(reps, lambda: ukern_fault_loop(30_000, fault_around=False))
    rows.append(('fault_loop: 30,000 in order, fault-around off (--no-fault-around)', 'µs', seq_off,
                 'fault hook that maps one page', pf_floor, ''))
    rows.append(('fault_loop: 30,000 pages written in shuffled order, per page', 'µs',
                 best_of(reps, lambda: ukern_fault_loop(30_000, 'random')),
                 'the same, fault-around off', best_of(reps, lambda: ukern_fault_loop(30_000, 'random', False)),
                 '2 MiB blocks: below 1.0'))
    handoff = best_of(reps, ukern_handoff)
    rows.append(('threads: mutex hand-off between two threads', 'µs', handoff,
                 'the same binary run natively', best_of(reps, native_handoff), ''))
    go = go_hello()
    if go is not None:
        rows.append(('Go: start-up and exit of a hello-world program', 'ms',
                     best_of(reps, lambda: ukern_program(go)) * 1e3,
                     'the same binary run natively', best_of(reps, lambda: native_program(go)) * 1e3, ''))
    runs = []
    for _ in range(reps):
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(disk_io(Path(tmp)))
    best = {key: max(r[key] for r in runs) for key in runs[0]}     # best of each, as above
    plain = best['plain']
    rows.append(('disk: sequential read() of a 64 MiB file', 'MB/s', best['read'],
                 'plain Python read of the image', plain, 'ukern / plain >= 0.5'))
    rows.append(('disk: the same with O_DIRECT (no cache, no copy)', 'MB/s', best['odirect'],
                 'plain Python read (row above)', plain, ''))
    rows.append(('disk: read(), guest RAM not prefaulted', 'MB/s', best['cold'],
                 'plain Python read (row above)', plain, ''))
    rows.append(('disk: the same read() loop on /dev/zero (no disk, no DMA)', 'MB/s', best['zero'],
                 'plain Python read (row above)', plain, ''))
    rows.append(('disk: ceiling for read(): the /dev/zero loop plus one plain read', 'MB/s',
                 read_ceiling(best['zero'], plain), 'plain Python read (row above)', plain,
                 'the best read() / plain can be'))
    rows.append(('disk: read() of the 64 MiB file, against the same binary run natively', 'MB/s',
                 best['read'], 'the same binary run natively', best['native_read'], ''))
    rows.append(('disk: read() / the /dev/zero loop, ukern against native Linux', '',
                 best['read'] / best['zero'], 'the same two runs natively',
                 best['native_read'] / best['native_zero'], "issue #16's goal: ukern >= 0.6"))
    rows.append(('disk: sequential write() of a 64 MiB file', 'MB/s', best['write'],
                 'plain Python write of a host file', best['plain_write'], ''))
    with tempfile.TemporaryDirectory() as tmp:
        image = churn_image(Path(tmp))
        for n in CHURN_SIZES:
            rows.append((f'directory: {n:,} creates + unlinks in one directory, per file', 'µs',
                         best_of(reps, lambda: ukern_churn(image, n)), 'the same binary run natively',
                         best_of(reps, lambda: native_churn(Path(tmp), n)),
                         'flat in N; 10,000 in < 10 s' if n == CHURN_SIZES[-1] else 'flat in N'))
    return rows


def table(rows) -> str:
    out = ['| benchmark | ukern | floor | floor is | ukern / floor | target |',
           '|---|---|---|---|---|---|']
    for name, unit, value, floor_name, floor, target in rows:
        out.append(f'| {name} | {value:.3g} {unit} | {floor:.3g} {unit} | {floor_name} | '
                   f'{value / floor:.2f} | {target} |')
    return '\n'.join(out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument('--quick', action='store_true', help='one repetition instead of three')
    ap.add_argument('--out', default=str(ROOT / 'bench' / 'RESULTS.md'))
    args = ap.parse_args()
    rows = measure(1 if args.quick else 3)
    text = table(rows)
    if not args.quick:
        sys.path.insert(0, str(ROOT / 'bench'))
        import io_bench
        import rewind
        import slices
        text += '\n\n' + slices.table()
        text += '\n\n' + rewind.table()
        with tempfile.TemporaryDirectory() as tmp:
            text += '\n\n' + io_bench.table(Path(tmp))
    print(text)
    header = ('# Benchmark results\n\nWritten by `make bench` (bench/run.py); best of 3 runs each, '
              'ukern and its floor measured in the same run. Compare the ratios.\n\n')
    Path(args.out).write_text(header + text + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
