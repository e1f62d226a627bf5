"""What the labs' grading tests are written with: the interface between a lab and the grader.

A lab is a directory labs/NAME/ (NAME a key of kernel.labs.LABS, which says which kernel
names the student's files replace) holding

    README.md        the handout
    starter/         the files `ukern lab start NAME` copies to labs/NAME/student/
    tests.py         the grading tests, below
    broken/          a solution with one known mistake (its first docstring or comment says
                     which), and broken/LOSES: one line per test (a prefix of its name)
                     that the mistake must fail; tests/test_labs.py grades it in `make test`

labs/NAME/tests.py registers its tests with the decorator `test` and checks with `expect`:

    from gradelib import test, expect, guest, run, run_disk

    @test('cow: fork then write', points=10)
    def _():
        r = run('tests/fork_cow')
        expect('exit status', 0, r.status, r)

A test passes when it returns; `expect` (or any exception) fails it, and the grader prints
what was expected and what came.  `optional=True` makes a challenge: reported, not in the
score.  Each test runs in a fresh Python process with the lab active on the files being
graded (labs/grade.py), so a test may change the kernel's state freely.

The regression part.  After the lab's own tests the grader runs the kernel's broad guest
tests (fork under memory pressure and swapping, exec, pipes and signals, the file system;
REGRESSION below) with the student's code in the kernel, xv6's `usertests`: a solution that
passes its own tests and breaks the kernel does not get full marks.  It is added to every
lab; a lab's tests.py may call `regression(...)` once to say how its code is reached (the
replacement lab boots with the student's policy, the objsrv lab's disk carries the
student's server) or how many points it is worth.

run / run_disk / boot are tests/conftest.py's run_program / run_on_disk / boot: the guest
programs are the real ones of userland/, built into build/userland.  `show_guest()` prints
a process and its page tables (the pgtbl lab's format); `make grade LAB=NAME PDB=1` makes
it the pdb command `guest`.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tests'))
sys.path.insert(0, str(ROOT))

USERLAND = ROOT / 'build' / 'userland'
MASTER_DISK = ROOT / 'build' / 'labs' / 'disk.img'
LAB = ''                          # the lab whose tests.py is being loaded (set by the grader)


@dataclass
class Test:
    name: str
    points: int
    func: object
    optional: bool = False        # a challenge: reported, not in the score
    regression: bool = False      # part of the regression part (the kernel's own tests)


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


# -- the guest's state, for a failure message or pdb -------------------------------------------

LEVEL_NAMES = ('PML4E', 'PDPTE', 'PDE', 'PTE')
_FLAG_BITS = ((0, 'P'), (1, 'W'), (2, 'U'), (5, 'A'), (6, 'D'), (7, 'PS'), (9, 'COW'), (63, 'NX'))
_ADDR = 0x000F_FFFF_FFFF_F000


def flag_names(e: int) -> str:
    return '|'.join(name for bit, name in _FLAG_BITS if e >> bit & 1)


def page_tree(mem, root: int) -> list[str]:
    """The lines of the page tables at `root` as the pgtbl lab's vmprint prints them
    (labs/pgtbl/README.md), walked here, independently of the kernel's and the student's."""
    out = [f'page table {root:#018x}']

    def walk(table, depth):
        for i in range(512):
            e = mem.read_u64(table + 8 * i)
            if not e & 1:
                continue
            large = depth in (1, 2) and e >> 7 & 1
            mask = _ADDR & ~((1 << (30 if depth == 1 else 21)) - 1) if large else _ADDR
            out.append(f'{" .." * (depth + 1)}{i}: {LEVEL_NAMES[depth]} {e:#018x} '
                       f'pa {e & mask:#018x} {flag_names(e)}')
            if depth < 3 and not large:
                walk(e & _ADDR, depth + 1)
    walk(root, 0)
    return out


def latest_kernel():
    """The kernel the running test booted last (None before the first boot)."""
    try:
        import conftest
    except ImportError:                   # (no pytest: not under the grader)
        return None
    return conftest.BOOTED[-1] if conftest.BOOTED else None


def show_guest(what=None, out=None, user_only: bool = True) -> None:
    """Print a process and its page tables: `what` is a Process, an AddressSpace or a
    Kernel (its current process, else its newest live one); None: the last booted kernel."""
    out = out or sys.stdout
    what = latest_kernel() if what is None else what
    if what is None:
        print('no kernel booted yet', file=out)
        return
    proc, aspace, kernel = None, None, None
    if hasattr(what, 'procs') and hasattr(what, 'frames'):            # a Kernel
        kernel = what
        # the kernel's own servers (objsrv) are not what a student's test ran
        ours = [p for p in kernel.procs.values() if p.tgid not in kernel.daemons]
        live = [p for p in ours if p.state.value != 'zombie']
        current = kernel.current
        if current is not None and current.tgid in kernel.daemons:
            current = None
        proc = current or (live[-1] if live else None)
        if proc is None:
            print(f'kernel: no live process ({len(ours)} zombies); '
                  f'{kernel.frames.free_count}/{kernel.frames.total} frames free', file=out)
            return
    elif hasattr(what, 'aspace'):                                     # a Process
        proc = what
    elif hasattr(what, 'pt') and hasattr(what, 'regions'):            # an AddressSpace
        aspace = what
    else:
        print(f'show_guest: {what!r} is not a kernel, a process or an address space', file=out)
        return
    if proc is not None:
        aspace = proc.aspace
        print(f'pid {proc.pid} ({getattr(proc, "name", "")}) {proc.state.value}', file=out)
    else:
        owner = ''
        kernel = kernel or latest_kernel()
        if kernel is not None:
            owner = next((f' (pid {p.pid})' for p in kernel.procs.values() if p.aspace is aspace),
                         ' (no process has it yet)')
        print(f'address space{owner}', file=out)
    for r in aspace.regions:                  # as /proc/PID/maps shows them
        rights = ''.join(c if int(r.prot) & bit else '-' for bit, c in ((1, 'r'), (2, 'w'), (4, 'x')))
        print(f'  {r.start:#014x}-{r.end:#014x} {rights}{"s" if r.shared else "p"} '
              f'{r.kind.value:6} {r.name}', file=out)
    lines = page_tree(aspace.frames.memory, aspace.pt.root)
    if user_only:              # the kernel half (PML4 slot 256 on) is the same in every space
        keep, skipping = [], False
        for line in lines:
            if line.startswith(' ..') and not line.startswith(' .. ..'):
                skipping = int(line.split(':')[0].split('..')[1]) >= 256
            if not skipping:
                keep.append(line)
        lines = keep
    print('\n'.join(lines), file=out)


# -- the regression part: the kernel's own broad tests with the student's code in it ----------

@dataclass
class Regression:
    """How a lab's code is reached by the regression part (regression() sets it)."""
    points: int = 20                      # shared out over the REGRESSION tests
    boot: dict = field(default_factory=dict)   # more boot() arguments (policy=...)
    master: object = None                 # () -> Path of the master disk (default MASTER_DISK)
    setup: object = None                  # (kernel) -> None after the boot, before the program


_regression: Regression | None = None


def regression(points: int = 20, boot: dict | None = None, master=None, setup=None) -> None:
    """Say how the regression part reaches this lab's code (call once, at the end of
    tests.py): `boot` more arguments of every boot (e.g. {'policy': 'lab-second-chance'}),
    `master` a function returning the disk image to copy for each test, `setup(kernel)`
    run after each boot.  The grader adds the part with the defaults when tests.py does
    not call this."""
    global _regression
    _regression = Regression(points, dict(boot or {}), master, setup)


# Each part: (name, [(program, args, boot arguments)]).  Every program runs from a fresh
# copy of the disk in its own boot, then the kernel's books are checked (kernel/check.py)
# and, at the end of the part, the file system with e2fsck.  Memory-pressure runs boot
# small machines with a swap disk.
SWAP = 'swap'
REGRESSION = [
    ('fork under memory pressure and swapping', [
        ('/tests/cow_swap', (), {'mem': 16 << 20, SWAP: True}),
        ('/tests/fork_cow', (), {'mem': 8 << 20, SWAP: True}),
        ('/tests/memhog', ('36',), {'mem': 24 << 20, SWAP: True}),
    ]),
    ('fork, exec, exit and wait', [
        ('/tests/books_fork', (), {}),
        ('/tests/execve_args', (), {}),
        ('/tests/spawn', (), {}),
        ('/tests/waitstatus', (), {}),
        ('/tests/shared_anon_fork', (), {}),
        ('/tests/shm_fork', (), {}),
    ]),
    ('pipes and signals', [
        ('/tests/pipe_basic', (), {}),
        ('/tests/sig_eintr', (), {}),
        ('/tests/sigsegv_handler', (), {}),
        ('/tests/sig_pending', (), {}),
        ('/bin/sh', ('-c', 'echo one two | wc -w; echo abc | cat | cat | wc -c'), {}),
    ]),
    ('the file system', [
        ('/tests/fs_unlink_mmap', (), {}),      # first: it counts the disk's free blocks
        ('/tests/fileio', (), {}),
        ('/tests/dirs', (), {}),
        ('/tests/fs_symlink', (), {}),
        ('/tests/mmap_file', (), {}),
    ]),
]
CHECK_EVERY_NS = 20_000_000       # the books are checked every 20 ms of virtual time too


def regression_tests(lab: str) -> list[Test]:
    """The regression part of `lab`'s grader, as configured by its tests.py."""
    config = _regression or Regression()
    each, extra = divmod(config.points, len(REGRESSION))
    tests = []
    for n, (part, programs) in enumerate(REGRESSION):
        points = each + (1 if n < extra else 0)
        tests.append(Test(f'{lab}: regression: {part}', points,
                          lambda programs=programs: _run_part(config, programs), regression=True))
    return tests


def _books(k, when: str) -> None:
    from kernel.check import find_problems
    problems = find_problems(k)
    if problems:
        raise Fail(f"the kernel's books {when} (kernel/check.py)", 'they balance',
                   problems[0], '\n'.join(problems[:12]))


def _run_part(config: Regression, programs) -> None:
    import conftest
    image = disk(config.master() if config.master else None)
    for path, args, kw in programs:
        kw = dict(kw)
        if kw.pop(SWAP, False):
            kw['swap'] = scratch_dir() / 'swap.img'
        kw.update(config.boot)
        k, out, log = conftest.boot(disk=image, **kw)
        if config.setup:
            config.setup(k)
        name = path.rsplit('/', 1)[-1]
        p = k.spawn(k.read_guest_file(path.encode()), [path.encode()] + [a.encode() for a in args], [])
        checks = []

        def check_books():
            checks.append(k.clock.now)
            _books(k, f'while {name} ran, at {k.clock.now / 1e6:.0f} ms of virtual time')
            if p.state.value != 'zombie':     # (an object server never exits)
                k.clock.schedule_in(CHECK_EVERY_NS, check_books)
        k.clock.schedule_in(CHECK_EVERY_NS, check_books)
        k.run()
        k.shutdown()
        r = conftest.GuestRun(p.exit_status, bytes(out), log, k)
        command = ' '.join([path, *args])
        if name == 'sh':
            expect(f'{command}: exit status', 0, r.status, r)
            expect(f'{command}: output', '2\n4\n', r.text, r)
        else:
            passed(r, name)
        _books(k, f'after {command}')
    expect_true('e2fsck is installed (it checks the disk after the runs)', bool(shutil.which('e2fsck')),
                'e2fsck on the PATH', 'not found: install e2fsprogs')
    r = conftest.fsck(image)
    expect('e2fsck -fn of the disk after the runs: exit status', 0, r.returncode, r.stdout[-1500:])
