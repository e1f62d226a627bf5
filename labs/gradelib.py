"""What the labs' grading tests are written with (labs/NAME/tests.py).

    from gradelib import test, expect, guest, run, run_disk

    @test('cow: fork then write', points=10)
    def _():
        r = run('tests/fork_cow')
        expect('exit status', 0, r.status, r)

A test passes when it returns; `expect` (or any exception) fails it, and the grader prints
what was expected and what came.  Each test runs in a fresh process with the lab active
(labs/grade.py), so a test may change the kernel's state freely.

run / run_disk / boot are tests/conftest.py's run_program / run_on_disk / boot: the guest
programs are the real ones of userland/, built into build/userland.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tests'))
sys.path.insert(0, str(ROOT))

USERLAND = ROOT / 'build' / 'userland'
MASTER_DISK = ROOT / 'build' / 'labs' / 'disk.img'


@dataclass
class Test:
    name: str
    points: int
    func: object
    optional: bool = False        # a challenge: reported, not in the score


TESTS: list[Test] = []


def test(name: str, points: int, optional: bool = False):
    def register(func):
        TESTS.append(Test(name, points, func, optional))
        return func
    return register


class Fail(AssertionError):
    def __init__(self, what: str, expected, got, detail: str = ''):
        self.what, self.expected, self.got, self.detail = what, expected, got, detail
        super().__init__(f'{what}: expected {expected!r}, got {got!r}')


def _detail(run) -> str:
    if run is None:
        return ''
    if isinstance(run, str):
        return run
    text = run.text
    log = '\n'.join(getattr(run, 'log', []) or [])
    tail = '\n'.join(text.splitlines()[-12:])
    return (tail + ('\n' + log if log else '')).strip()


def expect(what: str, expected, got, run=None) -> None:
    """Fail unless got == expected; `run` (a GuestRun or text) is shown on failure."""
    if got != expected:
        raise Fail(what, expected, got, _detail(run))


def expect_true(what: str, cond: bool, expected='true', got='false', run=None) -> None:
    if not cond:
        raise Fail(what, expected, got, _detail(run))


def passed(r, name: str) -> None:
    """A check.h guest test passed: '(name) end', no FAIL line, exit status 0."""
    fails = [l for l in r.text.splitlines() if 'FAIL' in l]
    if fails:
        raise Fail(f'{name}', 'no FAIL line', fails[0], _detail(r))
    if f'({name}) end' not in r.text:
        raise Fail(f'{name}', f'"({name}) end" on the console', 'no such line', _detail(r))
    if r.status != 0:
        raise Fail(f'{name}: wait status', 0, r.status, _detail(r))


def boot(**kw):
    import conftest
    return conftest.boot(**kw)


def run(program: str, *args: str, **kw):
    """Run build/userland/PROGRAM as pid 1 (no disk); returns conftest's GuestRun."""
    import conftest
    return conftest.run_program(USERLAND / program, *args, **kw)


def scratch_dir(prefix: str = 'ukern-grade-') -> Path:
    """A temporary directory for one test's disk or swap images, removed when grading ends."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, tmp, True)
    return tmp


def disk(master: Path | None = None) -> Path:
    """A fresh copy of a disk image (by default the labs' one, build/root on ext2) for one
    test: a test's boots change its disk."""
    image = scratch_dir() / 'disk.img'
    shutil.copyfile(master or MASTER_DISK, image)
    return image


def run_disk(path: str, *args: str, **kw):
    """Boot with a fresh disk, run the guest file `path`, shut down (conftest.run_on_disk)."""
    import conftest
    return conftest.run_on_disk(disk(), path, *args, **kw)
