"""Build the guest programs with the `ziglang` package as the cross compiler.

  python userland/build.py [OUTDIR] [--root ROOTDIR]    (default OUTDIR: build/userland)

C programs in bin/, sbin/ and tests/ become static x86-64 musl executables; assembly programs in
asm/ are linked with no libc at all.  Nothing but Python and the ziglang wheel is needed,
on Linux or macOS.  Programs are rebuilt only when a source or header is newer, one
compiler per core at a time; the first build also has zig build musl's libc (once per
checkout: the cache is build/zig-cache), which it says.  With --root, the programs
are also laid out as the guest's root file system (ready for `ukern mkdisk --root`):
/bin for bin/, /sbin for sbin/, /tests for tests/ and asm/, and /etc from userland/etc.
"""

import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = ['-target', 'x86_64-linux-musl']
CFLAGS = ['-static', '-O2', '-Wall', '-Werror', '-fno-omit-frame-pointer', f'-I{HERE / "include"}']
# Only these programs carry debug information (their own, not musl's): the ones the gdb
# tests debug, and the fault views' demo (the views name the function that faulted).
DEBUG_PROGRAMS = {'gdbdemo', 'segv', 'fault_kinds', 'rewind', 'gdbthreads', 'gdbrace', 'gdbinput',
                  'watchreads'}
ASFLAGS = ['-static', '-nostdlib']


def zig() -> list[str]:
    """The zig compiler in the ziglang wheel, run directly: `python -m ziglang` would
    start a Python for each of the 170-odd programs only to exec zig."""
    spec = importlib.util.find_spec('ziglang')
    if spec is not None and spec.origin is not None:
        for name in ('zig', 'zig.exe'):
            exe = Path(spec.origin).parent / name
            if os.access(exe, os.X_OK):
                return [str(exe)]
    return [sys.executable, '-m', 'ziglang']


ZIG = zig()


def zig_cc(args: list[str]) -> list[str]:
    return [*ZIG, 'cc', *TARGET, *args]


# zig keys its cached musl libc by the library's path as it was given (a relative one here),
# so two checkouts sharing the user's global cache keep invalidating each other's libc and
# rebuild it on every compile.  Each checkout keeps its own cache beside its build.
ZIG_CACHE = HERE.parent / 'build' / 'zig-cache'


@dataclass
class Job:
    """One program to build: its source, executable and the headers it may include."""
    src: Path
    exe: Path
    deps: list[Path] = field(default_factory=list)

    @property
    def kind(self) -> str:
        if self.src.suffix == '.S':
            return 'asm'
        return 'debug' if self.src.stem in DEBUG_PROGRAMS else 'c'

    def stale(self) -> bool:
        if not self.exe.exists():
            return True
        built = self.exe.stat().st_mtime
        return any(p.stat().st_mtime > built for p in [self.src, *self.deps])


def jobs(outdir: Path) -> list[Job]:
    headers = list((HERE / 'include').glob('*.h'))
    out = []
    for group in ('bin', 'sbin', 'tests'):
        out += [Job(src, outdir / group / src.stem, headers) for src in sorted((HERE / group).glob('*.c'))]
    out += [Job(src, outdir / 'asm' / src.stem) for src in sorted((HERE / 'asm').glob('*.S'))]
    return out


def run(cmd: list[str]) -> subprocess.CompletedProcess:
    env = dict(os.environ, ZIG_GLOBAL_CACHE_DIR=str(ZIG_CACHE))
    return subprocess.run(cmd, capture_output=True, text=True, env=env)


def failure(cmd: list[str], r: subprocess.CompletedProcess) -> str:
    return (r.stderr or r.stdout).strip() or f'{cmd[0]} exited with status {r.returncode}'


def build_debug(job: Job) -> str | None:
    """A program that keeps its debug information, linked with the same (stripped) musl
    as the others: zig builds a second musl, as long to build as the first, for any
    link without -s.  So compile with -g, link with -s and -v (zig prints its ld.lld
    command), and run that command again without -s."""
    obj = job.exe.with_suffix('.o')
    steps = [zig_cc([*CFLAGS, '-g', '-c', str(job.src), '-o', str(obj)]),
             zig_cc(['-static', '-O2', '-s', '-v', str(obj), '-o', str(job.exe)])]
    try:
        for cmd in steps:
            r = run(cmd)
            if r.returncode != 0:
                return failure(cmd, r)
        lld = next((line for line in r.stderr.splitlines() if line.startswith('ld.lld ')), None)
        if lld is None:
            return 'zig printed no ld.lld command to relink with debug information'
        relink = [*ZIG, *[arg for arg in shlex.split(lld) if arg != '-s']]
        r = run(relink)
        return failure(relink, r) if r.returncode != 0 else None
    finally:
        obj.unlink(missing_ok=True)


def build_one(job: Job) -> tuple[Path, str | None]:
    """Compile one program; (source, None) or (source, the compiler's message)."""
    job.exe.parent.mkdir(parents=True, exist_ok=True)
    if job.kind == 'debug':
        return job.src, build_debug(job)
    flags = ASFLAGS if job.kind == 'asm' else [*CFLAGS, '-s']
    cmd = zig_cc([*flags, str(job.src), '-o', str(job.exe)])
    r = run(cmd)
    return job.src, failure(cmd, r) if r.returncode != 0 else None


def libc_cached() -> bool:
    """Has zig built musl's libc into this checkout's cache (a few minutes, once)?"""
    return any(ZIG_CACHE.glob('o/*/libc.a'))


def workers() -> int:
    """Compilers to run at once: one per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:                          # macOS has no affinity masks
        return os.cpu_count() or 2


class Progress:
    """Says what the build is doing: each program as it finishes on a terminal (one line,
    rewritten), or a line every tenth of the way in a log."""

    def __init__(self, total: int):
        self.total = total
        self.done = 0
        self.tty = sys.stdout.isatty()
        self.step = max(1, total // 10)

    def finished(self, src: Path) -> None:
        self.done += 1
        if self.tty:
            line = f'userland: {self.done}/{self.total} {src.relative_to(HERE)}'
            print(f'\r{line:<72}', end='' if self.done < self.total else '\n', flush=True)
        elif self.done % self.step == 0 or self.done == self.total:
            print(f'userland: {self.done}/{self.total} built', flush=True)


def plural(n: int, noun: str) -> str:
    return f'{n} {noun}' if n == 1 else f'{n} {noun}s'


def build(outdir: Path) -> int:
    """Compile the programs whose sources changed: musl first if zig has not built it
    yet (every compile needs it), then the rest side by side, one per core."""
    start = time.monotonic()
    every = jobs(outdir)
    todo = [job for job in every if job.stale()]
    if not todo:
        print(f'userland: {plural(len(every), "program")} up to date in {outdir}')
        return 0
    failed: list[tuple[Path, str]] = []
    progress = Progress(len(todo))
    first = next((job for job in todo if job.kind == 'c'), None)
    if first is not None and not libc_cached():
        print('userland: building the guest C library (musl), first time only', flush=True)
        src, err = build_one(first)
        if err:
            failed.append((src, err))
        progress.finished(src)
        todo.remove(first)
    n = min(workers(), len(todo)) or 1
    print(f'userland: building {plural(len(todo), "program")} ({n} at a time)', flush=True)
    with ThreadPoolExecutor(max_workers=n) as pool:
        for future in as_completed([pool.submit(build_one, job) for job in todo]):
            src, err = future.result()
            if err:
                failed.append((src, err))
            progress.finished(src)
    for src, err in failed:
        print(f'userland: {src.relative_to(HERE)}: build failed\n{err}', file=sys.stderr)
    if failed:
        names = ', '.join(str(src.relative_to(HERE)) for src, _ in failed)
        print(f'userland: {len(failed)} of {plural(progress.total, "program")} failed: {names}',
              file=sys.stderr)
        return 1
    print(f'userland: {plural(len(every), "program")} in {outdir} ({time.monotonic() - start:.0f} s)')
    return 0


def stage_root(outdir: Path, root: Path) -> None:
    """The guest's root directory tree, made from the built programs."""
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(outdir / 'bin', root / 'bin')
    shutil.copytree(outdir / 'sbin', root / 'sbin')
    shutil.copytree(outdir / 'tests', root / 'tests')
    shutil.copytree(outdir / 'asm', root / 'tests', dirs_exist_ok=True)
    shutil.copytree(HERE / 'etc', root / 'etc')


def main(argv: list[str]) -> int:
    root = None
    if '--root' in argv:
        i = argv.index('--root')
        root = Path(argv[i + 1])
        del argv[i:i + 2]
    outdir = Path(argv[0]) if argv else HERE.parent / 'build' / 'userland'
    status = build(outdir)
    if status == 0 and root is not None:
        stage_root(outdir, root)
    return status


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
