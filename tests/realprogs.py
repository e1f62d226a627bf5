"""Programs nobody here wrote: Debian's static packages and Go programs, fetched once and cached.

`debian_program('busybox-static', 'bin/busybox')` downloads the package with `apt-get
download`, unpacks it with `dpkg-deb -x` under build/realprogs/, and returns the path of the
executable.  `go_program('goroutines')` builds tests/go/goroutines/ with
`CGO_ENABLED=0 go build` (a static binary).  Either skips the calling test, with the reason,
only where the tool it needs (apt-get, dpkg-deb, go) is missing on this machine; a tool that
is present but fails is a test failure, not a skip.

`native(...)` and `under_ukern(...)` run the same command both ways so a test can compare
what the program printed and how it exited.
"""

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / 'build' / 'realprogs'
GO_SOURCES = Path(__file__).resolve().parent / 'go'


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f'{tool} is not installed on this machine')
    return path


def debian_program(package: str, member: str) -> Path:
    """The file `member` of Debian package `package`, downloaded and unpacked once."""
    tree = CACHE / package
    exe = tree / member
    if exe.exists():
        return exe
    apt, dpkg = _need('apt-get'), _need('dpkg-deb')
    work = CACHE / 'download'
    work.mkdir(parents=True, exist_ok=True)
    r = subprocess.run([apt, 'download', package], cwd=work, capture_output=True, text=True)
    if r.returncode != 0 and 'Unable to locate package' in r.stderr:
        # the package lists may be missing on a fresh machine
        subprocess.run([apt, 'update', '-qq'], capture_output=True)
        r = subprocess.run([apt, 'download', package], cwd=work, capture_output=True, text=True)
    assert r.returncode == 0, f'apt-get download {package}: {r.stderr.strip()}'
    debs = sorted(work.glob(f'{package}_*.deb'))
    assert debs, f'apt-get download {package} left no .deb in {work}'
    tmp = tree.with_suffix('.partial')
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run([dpkg, '-x', str(debs[-1]), str(tmp)], check=True)
    shutil.rmtree(tree, ignore_errors=True)
    tmp.rename(tree)
    assert exe.exists(), f'{package} has no {member}'
    return exe


def go_program(name: str) -> Path:
    """tests/go/NAME built as a static Linux x86-64 binary (rebuilt when its source changes)."""
    go = _need('go')
    src = GO_SOURCES / name
    out = CACHE / 'go' / name
    sources = list(src.glob('*.go'))
    if out.exists() and all(s.stat().st_mtime <= out.stat().st_mtime for s in sources):
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CGO_ENABLED='0', GOOS='linux', GOARCH='amd64', GOFLAGS='-mod=mod',
               GOCACHE=str(CACHE / 'go-cache'), GOPATH=str(CACHE / 'gopath'), GOTOOLCHAIN='local')
    r = subprocess.run([go, 'build', '-o', str(out), '.'], cwd=src, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, f'go build {name}: {r.stderr}'
    return out


@dataclass
class Outcome:
    status: int          # exit code (128 + signal when killed, as a shell reports it)
    stdout: bytes
    stderr: bytes

    @property
    def text(self) -> str:
        return self.stdout.decode(errors='replace')


def native(argv: list, cwd: Path | None = None, stdin: bytes = b'', env: dict | None = None,
           timeout: float = 60, merge_stderr: bool = False) -> Outcome:
    """The program run by the host.  merge_stderr: its stderr joins stdout (`2>&1`; compare
    with under_ukern(merge_stderr=True))."""
    r = subprocess.run([str(a) for a in argv], cwd=cwd, input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
                       env=env if env is not None else clean_env(), timeout=timeout)
    code = r.returncode if r.returncode >= 0 else 128 - r.returncode
    return Outcome(code, r.stdout, r.stderr or b'')


def under_ukern(argv: list, cwd: Path | None = None, stdin: bytes = b'', options: list = (),
                env: dict | None = None, timeout: float = 300, merge_stderr: bool = False) -> Outcome:
    """`ukern run [options] argv...` as a user types it, in directory cwd.  As natively,
    the guest's stderr is ukern's own (apart from stdout), or, with merge_stderr, both
    share one pipe (`2>&1`)."""
    cmd = [sys.executable, '-m', 'kernel', 'run', *map(str, options), *map(str, argv)]
    full_env = dict(env if env is not None else clean_env(), PYTHONPATH=str(ROOT))
    r = subprocess.run(cmd, cwd=cwd, input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
                       env=full_env, timeout=timeout)
    return Outcome(r.returncode, r.stdout, r.stderr or b'')


def clean_env() -> dict:
    """The environment both runs get: small and the same, so outputs can be compared."""
    return {'PATH': '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin', 'HOME': '/root',
            'LANG': 'C', 'LC_ALL': 'C', 'TERM': 'dumb'}
