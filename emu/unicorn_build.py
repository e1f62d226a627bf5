"""ukern's build of Unicorn: the installed version, x86 only, with one small patch that makes
counting a slice's instructions nearly free.

Why: two runnable processes must share the CPU deterministically, so a slice ends after a
budget of instructions, not of host time.  Stock Unicorn can count only through a hook, and
even the native block hook (slicecount.c) costs a call per translated block: on a tight loop
of eight-instruction blocks the guest then computes at about half its speed.  Unicorn already
calls a helper at the start of every block (to check for a stop request); the patch
(emu/native/unicorn-count-blocks.patch, about 100 lines with its comments) makes that helper
count the block too, into the same struct slice_counter the hook would count into, by the
same rules, so the slices end at exactly the same instructions whichever library runs: only
the speed differs.  See bench/RESULTS.md, the slice table.

`python -m emu.unicorn_build` (`make unicorn`; `make test` and `make bench` depend
on it) fetches the source of the installed version from PyPI (pip download --no-binary),
checks its SHA-256, applies the patch and builds libunicorn with CMake into build/unicorn/lib
(about 30 s on two cores, the first time only).  It uses the system's C compiler and CMake
if there are, and otherwise zig (the guest compiler ukern already installs) and CMake from
PyPI.

unicorn_lib.py makes emu load that build, if it is there.  Without it everything works the
same, slower as above.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from importlib.metadata import version, PackageNotFoundError
from pathlib import Path

from .unicorn_lib import LIB_DIR, LIB_NAME

PATCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'native', 'unicorn-count-blocks.patch')
STAMP = os.path.join(LIB_DIR, 'built-from')   # "<version> <patch sha-256>": rebuilt when either changes

# The source distributions the patch was written against, by their SHA-256 on PyPI.
SOURCES = {'2.1.4': '00567a70e323f749b419cd86bee4f9115beab7ebba32194581c090cbb7c59cff'}


class BuildError(RuntimeError):
    """The patched library could not be built; the message says why in one line."""


def _installed_version() -> str:
    try:
        return version('unicorn')
    except PackageNotFoundError:
        raise BuildError('the unicorn package is not installed') from None


def _sha256(path) -> str:
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def _wanted_stamp(ver: str) -> str:
    return f'{ver} {_sha256(PATCH)}'


def is_current() -> bool:
    """Is the build there, and made from the installed version and the patch as they are now?"""
    try:
        with open(STAMP) as f:
            made = f.read().strip()
        return made == _wanted_stamp(_installed_version()) and \
            os.path.exists(os.path.join(LIB_DIR, LIB_NAME))
    except (OSError, BuildError):
        return False


def _run(cmd: list, what: str, **kw) -> None:
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if r.returncode != 0:
        lines = (r.stderr or r.stdout).strip().splitlines() or ['(no message)']
        raise BuildError(f'{what} failed: {lines[-1]}')


def _fetch_source(ver: str, into: Path) -> Path:
    """The unpacked source distribution of unicorn `ver`, checked against SOURCES."""
    if ver not in SOURCES:
        raise BuildError(f'the patch is for unicorn {", ".join(SOURCES)}, and {ver} is installed')
    _run([sys.executable, '-m', 'pip', 'download', '-q', '--no-deps', '--no-binary', ':all:',
          '-d', into, f'unicorn=={ver}'], 'downloading the Unicorn source')
    archive = into / f'unicorn-{ver}.tar.gz'
    if not archive.exists() or _sha256(archive) != SOURCES[ver]:
        raise BuildError(f'{archive.name} is not the source distribution the patch was written for')
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, 'data_filter'):     # (Pythons before 3.10.12 have no filters)
            tar.extractall(into, filter='data')
        else:
            tar.extractall(into)
    return into / f'unicorn-{ver}'


def _apply_patch(source: Path) -> None:
    if shutil.which('patch'):
        _run(['patch', '-p1', '-s', '-d', source, '-i', PATCH], 'patch')
    else:       # git apply, kept from taking the ukern repository around it for its own
        _run(['git', 'apply', '-p1', PATCH], 'git apply', cwd=source,
             env={**os.environ, 'GIT_CEILING_DIRECTORIES': str(source.parent)})


def _tools(work: Path) -> list[str]:
    """CMake's arguments naming the compiler: the system's, or zig's through a wrapper."""
    if shutil.which('cc') and shutil.which('ar'):
        return []
    wrappers = []
    for tool, zig in (('cc', 'cc'), ('ar', 'ar'), ('ranlib', 'ranlib')):
        w = work / f'zig-{tool}'
        w.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m ziglang {zig} "$@"\n')
        w.chmod(0o755)
        wrappers.append(w)
    cc, ar, ranlib = wrappers
    return [f'-DCMAKE_C_COMPILER={cc}', f'-DCMAKE_AR={ar}', f'-DCMAKE_RANLIB={ranlib}']


def _cmake() -> str:
    venv_bin = os.path.dirname(sys.executable)
    found = shutil.which('cmake') or shutil.which('cmake', path=venv_bin)
    if found:
        return found
    _run([sys.executable, '-m', 'pip', 'install', '-q', 'cmake'], 'installing CMake from PyPI')
    return shutil.which('cmake', path=venv_bin) or 'cmake'


def build() -> str:
    """Build the patched library into LIB_DIR (atomically: others may be loading it)."""
    ver = _installed_version()
    os.makedirs(LIB_DIR, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(LIB_DIR), prefix='src-') as tmp:
        work = Path(tmp)
        source = _fetch_source(ver, work)
        _apply_patch(source)
        cmake, objdir = _cmake(), work / 'obj'
        _run([cmake, '-S', source / 'src', '-B', objdir, '-DUNICORN_ARCH=x86', '-DCMAKE_BUILD_TYPE=Release',
              '-DUNICORN_BUILD_TESTS=OFF', *_tools(work)], 'cmake (configure)')
        _run([cmake, '--build', objdir, '--target', 'unicorn', '-j', str(os.cpu_count() or 2)], 'cmake (build)')
        tmp_lib = os.path.join(LIB_DIR, f'{LIB_NAME}.{os.getpid()}.tmp')
        shutil.copyfile(objdir / LIB_NAME, tmp_lib)
        os.replace(tmp_lib, os.path.join(LIB_DIR, LIB_NAME))
    with open(STAMP, 'w') as f:
        f.write(_wanted_stamp(ver) + '\n')
    return os.path.join(LIB_DIR, LIB_NAME)


def _remove_stale() -> None:
    """A build for another version or patch must not be loaded meanwhile, nor if this one fails."""
    for path in (STAMP, os.path.join(LIB_DIR, LIB_NAME)):
        if os.path.exists(path):
            os.unlink(path)


def main() -> int:
    if is_current():
        return 0
    _remove_stale()
    print("building ukern's Unicorn (x86 only, counting blocks for slices): first time only, "
          'about 30 s', flush=True)
    try:
        build()
    except BuildError as e:
        print(f'ukern: {e}; slices are counted with a block hook instead (slower, same results)',
              file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
