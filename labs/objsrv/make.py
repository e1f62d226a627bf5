"""Build an object server from C and a disk that carries it as /sbin/objsrv.

    .venv/bin/python labs/objsrv/make.py [SOURCE]     (default labs/objsrv/student/objsrv.c)

compiles SOURCE with exactly the flags of userland/build.py (zig cc, x86_64-linux-musl,
static, -Wall -Werror) and makes build/labs/objsrv/disk.img: build/root with sbin/objsrv
replaced, on a fresh disk (kernel.tools.mkdisk.make_disk).  Then try your server:

    .venv/bin/ukern run --disk build/labs/objsrv/disk.img /tests/objmany 200
    .venv/bin/ukern run --disk build/labs/objsrv/disk.img /bin/objcount

The grader (labs/objsrv/tests.py) uses the same functions.  Builds are cached under
build/labs/objsrv/SHA/ by the source's (and headers') content, and a lock keeps the
grader's parallel tests from compiling the same server at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
USERLAND = ROOT / 'userland'
GUEST_ROOT = ROOT / 'build' / 'root'            # what userland/build.py --root lays out
BUILT = ROOT / 'build' / 'userland' / 'sbin' / 'objsrv'
REFERENCE = USERLAND / 'sbin' / 'objsrv.c'
CACHE = ROOT / 'build' / 'labs' / 'objsrv'
DISK_SIZE = 64 << 20                            # as tests/conftest.py's master image


class BuildError(Exception):
    def __init__(self, source: Path, output: str):
        self.source, self.output = source, output
        super().__init__(f'{source} does not compile:\n{output}')


def _userland_build():
    spec = importlib.util.spec_from_file_location('ukern_userland_build', USERLAND / 'build.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def compile_command(source: Path, out: Path) -> list[str]:
    """userland/build.py's command for a program of sbin/ (the same flags, stripped)."""
    ub = _userland_build()
    return ub.zig_cc([*ub.CFLAGS, '-s', str(source), '-o', str(out)])


def _key(source: Path) -> str:
    h = hashlib.sha256(source.read_bytes())
    for header in sorted((USERLAND / 'include').glob('*.h')):
        h.update(header.name.encode() + header.read_bytes())
    h.update(' '.join(compile_command(Path('SRC'), Path('OUT'))[1:]).encode())
    return h.hexdigest()[:16]


@contextlib.contextmanager
def _locked():
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / '.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _newest(root: Path) -> float:
    return max(p.stat().st_mtime for p in root.rglob('*'))


def build(source: Path) -> tuple[Path, Path]:
    """(the server binary, a master disk image carrying it); cached by content."""
    source = Path(source)
    if not source.exists():
        raise BuildError(source, f'{source}: no such file (did you run `ukern lab start objsrv`?)')
    if not GUEST_ROOT.exists():
        raise BuildError(source, f'{GUEST_ROOT} is missing: run userland/build.py --root first')
    where = CACHE / _key(source)
    binary, image = where / 'objsrv', where / 'disk.img'
    with _locked():
        where.mkdir(parents=True, exist_ok=True)
        if not binary.exists():
            if source.read_bytes() == REFERENCE.read_bytes() and BUILT.exists() \
                    and BUILT.stat().st_mtime >= REFERENCE.stat().st_mtime:
                shutil.copyfile(BUILT, binary)       # userland/build.py built this very source
            else:
                tmp = where / 'objsrv.tmp'
                r = subprocess.run(compile_command(source, tmp), capture_output=True, text=True)
                if r.returncode:
                    tmp.unlink(missing_ok=True)
                    raise BuildError(source, (r.stderr or r.stdout or f'exit {r.returncode}').strip())
                os.replace(tmp, binary)
        if not image.exists() or image.stat().st_mtime < max(_newest(GUEST_ROOT), binary.stat().st_mtime):
            from kernel.tools.mkdisk import make_disk
            with tempfile.TemporaryDirectory(prefix='ukern-objsrv-root-') as tmp:
                root = Path(tmp) / 'root'
                shutil.copytree(GUEST_ROOT, root, symlinks=True)
                shutil.copyfile(binary, root / 'sbin' / 'objsrv')
                os.chmod(root / 'sbin' / 'objsrv', 0o755)
                part = where / 'disk.img.tmp'
                make_disk(part, root, DISK_SIZE)
                os.replace(part, image)
    return binary, image


def main(argv=None) -> int:
    sys.path.insert(0, str(ROOT))
    argv = sys.argv[1:] if argv is None else argv
    source = Path(argv[0]) if argv else HERE / 'student' / 'objsrv.c'
    try:
        binary, image = build(source)
    except BuildError as e:
        print(e, file=sys.stderr)
        return 1
    out = CACHE / 'disk.img'
    shutil.copyfile(image, out)
    print(f'{source} -> {binary}\ndisk with it as /sbin/objsrv: {out.relative_to(ROOT)}')
    print(f'try: .venv/bin/ukern run --disk {out.relative_to(ROOT)} /tests/objmany 200')
    return 0


if __name__ == '__main__':
    sys.exit(main())
