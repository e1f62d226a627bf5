"""Build the guest programs with the `ziglang` package as the cross compiler.

  python userland/build.py [OUTDIR] [--root ROOTDIR]    (default OUTDIR: build/userland)

C programs in bin/, sbin/ and tests/ become static x86-64 musl executables; assembly programs in
asm/ are linked with no libc at all.  Nothing but Python and the ziglang wheel is needed,
on Linux or macOS.  Programs are rebuilt only when a source or header is newer.  With --root, the programs
are also laid out as the guest's root file system (ready for `ukern mkdisk --root`):
/bin for bin/, /sbin for sbin/, /tests for tests/ and asm/, and /etc from userland/etc.
"""

import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = ['-target', 'x86_64-linux-musl']
CFLAGS = ['-static', '-O2', '-Wall', '-Werror', '-fno-omit-frame-pointer', f'-I{HERE / "include"}']
# Debug information makes a program ten times larger: only the gdb demo carries it, and
# the fault views' demo (for its symbol table: the views name the function that faulted).
DEBUG_PROGRAMS = {'gdbdemo', 'segv', 'fault_kinds'}
ASFLAGS = ['-static', '-nostdlib']


def zig_cc(args: list[str]) -> list[str]:
    return [sys.executable, '-m', 'ziglang', 'cc', *TARGET, *args]


# zig keys its cached musl libc by the library's path as it was given (a relative one here),
# so two checkouts sharing the user's global cache keep invalidating each other's libc and
# rebuild it on every compile.  Each checkout keeps its own cache beside its build.
ZIG_CACHE = HERE.parent / 'build' / 'zig-cache'


def jobs(outdir: Path) -> list[tuple[Path, Path, list[str]]]:
    headers = list((HERE / 'include').glob('*.h'))
    out = []
    for group in ('bin', 'sbin', 'tests'):
        for src in sorted((HERE / group).glob('*.c')):
            exe = outdir / group / src.stem
            debug = ['-g'] if src.stem in DEBUG_PROGRAMS else ['-s']
            out.append((src, exe, zig_cc([*CFLAGS, *debug, str(src), '-o', str(exe)]), headers))
    for src in sorted((HERE / 'asm').glob('*.S')):
        exe = outdir / 'asm' / src.stem
        out.append((src, exe, zig_cc([*ASFLAGS, str(src), '-o', str(exe)]), []))
    return out


def stale(src: Path, exe: Path, deps: list[Path]) -> bool:
    if not exe.exists():
        return True
    built = exe.stat().st_mtime
    return any(p.stat().st_mtime > built for p in [src, *deps])


def build_one(job) -> tuple[Path, str | None]:
    src, exe, cmd, deps = job
    if not stale(src, exe, deps):
        return src, None
    exe.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, ZIG_GLOBAL_CACHE_DIR=str(ZIG_CACHE))
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        return src, r.stderr or r.stdout or f'exit {r.returncode}'
    return src, None


def build(outdir: Path) -> int:
    todo = jobs(outdir)
    failed = 0
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for src, err in pool.map(build_one, todo):
            if err:
                failed += 1
                print(f'userland: {src.relative_to(HERE)}: build failed\n{err}', file=sys.stderr)
    print(f'userland: {len(todo) - failed} programs in {outdir}')
    return 1 if failed else 0


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
