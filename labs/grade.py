"""The labs' grader: `make grade LAB=NAME` (or `python labs/grade.py [NAME ...]`).

Runs each test of labs/NAME/tests.py, then the regression part (gradelib.REGRESSION: the
kernel's own broad tests with the student's code in it), each in a fresh Python process with
lab NAME active on the student's files (labs/NAME/student/, or --dir DIR; --reference grades
ukern's own parts, --starter the untouched starter code), and prints, as xv6's grader does,

    == Test cow: fork then write == OK (0.4s)
    == Test cow: ... == FAIL (0.5s)
        expected: ...
        got:      ...
    Score: N/M

The lab being graded is the grader's choice alone: each test process gets UKERN_LAB=NAME in
its environment, so another lab's `.active` marker is ignored (kernel/labs.py).

    --gradescope [FILE]   also write Gradescope's results.json (labs/README.md: the set-up)
    --handin              grade, then pack the student's files and the result into
                          build/handin/NAME-handin.tar.gz (`make handin LAB=NAME`)
    --pdb                 stop in pdb at the first failing test, in the student's code
                          (`make grade LAB=NAME PDB=1`; labs/gradepdb.py)
    -k TEXT               only the tests whose name contains TEXT

With no NAME every lab is graded (a lab not started is graded on its starter code).
Exit status 0 when every graded test passed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NEEDED = ('unicorn', 'capstone', 'elftools')      # pyproject.toml's dependencies, as imported


def check_environment() -> None:
    """One clear line, not a ModuleNotFoundError per test, when this Python is not the
    project's (.venv, which `make` creates)."""
    missing = [m for m in NEEDED if importlib.util.find_spec(m) is None]
    if missing or sys.version_info < (3, 10):
        what = f'lacks {", ".join(missing)}' if missing else 'is older than 3.10'
        sys.exit(f'grade: this Python ({sys.executable}) {what}: run `make grade` or '
                 f'.venv/bin/python labs/grade.py (`make userland` creates .venv)')


if __name__ == '__main__':
    check_environment()

import argparse  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import tarfile  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

TIMEOUT = 120                 # seconds per test
HANDIN = ROOT / 'build' / 'handin'


def lab_names() -> list[str]:
    from kernel.labs import LABS
    return list(LABS)


def load_tests(lab: str):
    """The Test list of labs/LAB/tests.py, then the regression part."""
    import gradelib
    gradelib.TESTS.clear()
    gradelib.LAB, gradelib._regression = lab, None
    path = HERE / lab / 'tests.py'
    spec = importlib.util.spec_from_file_location(f'ukern_grade_{lab}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tests = list(gradelib.TESTS) + gradelib.regression_tests(lab)
    gradelib.TESTS.clear()
    return tests


def prepare() -> None:
    """The guest programs (incremental build) and the labs' disk image."""
    r = subprocess.run([sys.executable, str(ROOT / 'userland' / 'build.py'),
                        str(ROOT / 'build' / 'userland'), '--root', str(ROOT / 'build' / 'root')],
                       capture_output=True, text=True)
    if r.returncode:
        sys.exit(f'grade: building the guest programs failed:\n{r.stderr}')
    import gradelib
    root = ROOT / 'build' / 'root'
    image = gradelib.MASTER_DISK
    newest = max(p.stat().st_mtime for p in root.rglob('*'))
    if not image.exists() or image.stat().st_mtime < newest:
        from kernel.tools.mkdisk import make_disk
        image.parent.mkdir(parents=True, exist_ok=True)
        tmp = image.with_suffix('.tmp')
        make_disk(tmp, root, 32 << 20)
        os.replace(tmp, image)


def student_files_dir(lab: str, where: Path) -> Path:
    """The directory holding the lab's files: `where`, or `where/LAB` when the files are
    there (a hand-in tarball unpacked, as Gradescope's submission directory may hold)."""
    from kernel.labs import get
    files = get(lab).starter
    if not all((where / f).exists() for f in files) and all((where / lab / f).exists() for f in files):
        return where / lab
    return where


# -- one test, in its own process -------------------------------------------------------------

def _in_students_code(tb, directory: str) -> str:
    """'cow.py line 40, in fork' for the innermost frame of the traceback in `directory`."""
    import traceback
    mine = [f for f in traceback.extract_tb(tb) if f.filename.startswith(directory + os.sep)]
    if not mine:
        return ''
    f = mine[-1]
    return f'{Path(f.filename).name} line {f.lineno}, in {f.name}: {(f.line or "").strip()}'


def failure(e: BaseException, directory: str) -> dict:
    """The result of a test that raised `e`."""
    import gradelib
    import traceback
    if isinstance(e, gradelib.Fail):
        return {'ok': False, 'what': e.what, 'expected': str(e.expected), 'got': str(e.got),
                'detail': e.detail}
    tb = traceback.format_exception(type(e), e, e.__traceback__)
    result = {'ok': False, 'what': 'the test raised an exception', 'expected': 'no exception',
              'got': f'{type(e).__name__}: {e}'.splitlines()[0][:300],
              'detail': ''.join(tb[-3:]).rstrip()}
    if 'can never come' in str(e):
        result['what'] = ('a request never completed: the kernel waited for an event '
                          'that can never come')
    where = _in_students_code(e.__traceback__, directory)
    if where:
        result['where'] = where
    return result


def run_one(lab: str, name: str, directory: str, reference: bool, result_file: str,
            pdb: bool = False) -> int:
    from kernel import labs
    result = {'ok': False}
    test = None
    try:
        labs.activate(lab, directory, reference=reference, watch=True)
        test = next(t for t in load_tests(lab) if t.name == name)
        test.func()
        result = {'ok': True}
    except Exception as e:              # noqa: BLE001 -- anything the student's code raises
        result = failure(e, str(directory))
        if test is None or test.regression or 'where' in result:
            result['code'] = labs.student_code()
        if pdb:
            import gradepdb
            sys.stdout.flush()
            gradepdb.post_mortem(e, str(directory), result)
            result['pdb'] = True
    sys.stdout.flush()
    Path(result_file).write_text(json.dumps(result))
    return 0


def _spawn(lab: str, name: str, directory: Path, reference: bool, pdb: bool = False) -> tuple[dict, float]:
    fd, result_file = tempfile.mkstemp(prefix='ukern-grade-', suffix='.json')
    os.close(fd)
    cmd = [sys.executable, str(Path(__file__).resolve()), '--one', lab, name,
           '--dir', str(directory), '--result', result_file]
    if reference:
        cmd.append('--reference')
    if pdb:
        cmd.append('--pdb')
    env = dict(os.environ)
    env.update(UKERN_LAB=lab, UKERN_LAB_DIR=str(directory), UKERN_LAB_REFERENCE='1' if reference else '0')
    if env.pop('PYTHONDONTWRITEBYTECODE', None):   # a process per test: compile the kernel once,
        env['PYTHONPYCACHEPREFIX'] = str(ROOT / 'build' / 'pycache')   # into build/, not the tree
    start = time.monotonic()
    try:
        if pdb:                        # the student's terminal: pdb reads and writes it
            r = subprocess.run(cmd, env=env, cwd=ROOT)
            r.stdout = r.stderr = ''
        else:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        Path(result_file).unlink(missing_ok=True)
        return {'ok': False, 'what': 'time limit', 'expected': f'done within {TIMEOUT}s',
                'got': 'still running (killed)'}, time.monotonic() - start
    took = time.monotonic() - start
    try:
        text = Path(result_file).read_text()
    finally:
        Path(result_file).unlink(missing_ok=True)
    if not text:
        return {'ok': False, 'what': 'the test process died', 'expected': 'a result',
                'got': f'exit status {r.returncode}',
                'detail': (r.stderr or r.stdout)[-2000:]}, took
    result = json.loads(text)
    extra = r.stdout.strip()
    if extra and not result['ok']:
        result['detail'] = (result.get('detail', '') + '\nprinted:\n' + extra[-1500:]).strip()
    return result, took


# -- a whole lab -------------------------------------------------------------------------------

@dataclass
class Outcome:
    lab: str
    name: str
    points: int
    optional: bool
    regression: bool
    result: dict
    took: float
    text: str = ''            # the lines printed for it

    @property
    def ok(self) -> bool:
        return bool(self.result['ok'])


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)
    text: str = ''
    stopped: bool = False     # --pdb: stopped at the first failure

    def _sum(self, pick) -> tuple[int, int]:
        chosen = [o for o in self.outcomes if pick(o)]
        return sum(o.points for o in chosen if o.ok), sum(o.points for o in chosen)

    @property
    def score(self) -> int:
        return self._sum(lambda o: not o.optional)[0]

    @property
    def total(self) -> int:
        return self._sum(lambda o: not o.optional)[1]

    def lab_part(self) -> tuple[int, int]:
        """(score, total) of the labs' own tests, without the regression part."""
        return self._sum(lambda o: not o.optional and not o.regression)


def _format(o: Outcome) -> str:
    tag = ' (challenge)' if o.optional else ''
    r = o.result
    if o.ok:
        return f'== Test {o.name}{tag} == OK ({o.took:.1f}s)\n'
    lines = [f'== Test {o.name}{tag} == FAIL ({o.took:.1f}s)', f'    {r["what"]}',
             f'    expected: {r["expected"]}', f'    got:      {r["got"]}']
    if r.get('where'):
        lines.append(f'    raised in {r["where"]}')
    if r.get('code'):
        lines.append(f'    {r["code"]}')
    lines += [f'    | {line}' for line in (r.get('detail') or '').splitlines()[-15:]]
    return '\n'.join(lines) + '\n'


def where_to_grade(lab: str, directory: Path | None, reference: bool, starter: bool, out) -> Path:
    from kernel.labs import get
    info = get(lab)
    if directory is not None:
        return student_files_dir(lab, Path(directory).resolve())
    if starter:
        return info.directory / 'starter'
    if info.student_dir.exists():
        return info.student_dir
    if not reference:
        print(f'({lab}: not started -- grading the starter code; '
              f'`make lab-start LAB={lab}` to begin)', file=out)
    return info.directory / 'starter'


def run_labs(labs: list[str], directory: Path | None = None, reference: bool = False,
             starter: bool = False, jobs: int | None = None, out=None, only: str = '',
             pdb: bool = False, regression: bool = True) -> Report:
    """Grade `labs`, printing the xv6-style lines to `out` as they come (regression=False:
    the labs' own tests only)."""
    out = out or sys.stdout
    report = Report()
    plan = []
    for lab in labs:
        where = where_to_grade(lab, directory, reference, starter, out)
        plan += [(lab, t, where) for t in load_tests(lab)
                 if only in t.name and (regression or not t.regression)]
    jobs = 1 if pdb else jobs or max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_spawn, lab, t.name, where, reference, pdb) for lab, t, where in plan]
        for (lab, t, where), fut in zip(plan, futures):
            result, took = fut.result()
            o = Outcome(lab, t.name, t.points, t.optional, t.regression, result, took)
            o.text = _format(o)
            report.outcomes.append(o)
            print(o.text, end='', file=out)
            out.flush()
            if pdb and not o.ok:
                report.stopped = True
                for f in futures:
                    f.cancel()
                break
    cscore, ctotal = report._sum(lambda o: o.optional)
    tail = []
    if ctotal:
        tail.append(f'Challenge: {cscore}/{ctotal} (not in the score)')
    if report.stopped:
        tail.append('(--pdb: stopped at the first failing test)')
    tail.append(f'Score: {report.score}/{report.total}')
    print('\n'.join(tail), file=out)
    report.text = ''.join(o.text for o in report.outcomes) + '\n'.join(tail) + '\n'
    return report


def grade(labs: list[str], directory: Path | None = None, reference: bool = False,
          starter: bool = False, jobs: int | None = None, out=None) -> tuple[int, int]:
    """Grade `labs`; prints the xv6-style lines to `out`; returns (score, total)."""
    report = run_labs(labs, directory, reference, starter, jobs, out)
    return report.score, report.total


# -- what a course does with the result --------------------------------------------------------

def gradescope(report: Report) -> dict:
    """Gradescope's results.json: the score, and each test with its points and output."""
    tests = []
    for o in report.outcomes:
        entry = {'name': o.name + (' (challenge, not in the score)' if o.optional else ''),
                 'score': 0 if o.optional else (o.points if o.ok else 0),
                 'max_score': 0 if o.optional else o.points,
                 'status': 'passed' if o.ok else 'failed',
                 'output': '' if o.ok else o.text.split('\n', 1)[1].rstrip()}
        tests.append(entry)
    return {'score': report.score, 'max_score': report.total,
            'output': report.text.splitlines()[-1], 'tests': tests}


def handin(lab: str, where: Path, report: Report, out_dir: Path = HANDIN) -> Path:
    """LAB-handin.tar.gz: the student's files under LAB/, with LAB/grade.txt (the grader's
    output) and LAB/results.json (the same, for Gradescope)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f'{lab}-handin.tar.gz'
    files = sorted(f for f in where.rglob('*') if f.is_file() and '__pycache__' not in f.parts
                   and not f.name.startswith('.'))

    def add_text(tar, name, text):
        data = text.encode()
        info = tarfile.TarInfo(f'{lab}/{name}')
        info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
        tar.addfile(info, io.BytesIO(data))
    with tarfile.open(path, 'w:gz') as tar:
        for f in files:
            tar.add(f, arcname=f'{lab}/{f.relative_to(where)}')
        add_text(tar, 'grade.txt', report.text)
        add_text(tar, 'results.json', json.dumps(gradescope(report), indent=1) + '\n')
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog='grade', description='grade ukern course labs')
    ap.add_argument('labs', nargs='*', help='labs to grade (default: all)')
    ap.add_argument('--dir', help='the student files to grade (default labs/NAME/student)')
    ap.add_argument('--reference', action='store_true', help="grade ukern's own parts")
    ap.add_argument('--starter', action='store_true', help='grade the untouched starter code')
    ap.add_argument('-j', '--jobs', type=int, help='tests run at once (default: up to 4)')
    ap.add_argument('-k', dest='only', default='', metavar='TEXT',
                    help='only the tests whose name contains TEXT')
    ap.add_argument('--gradescope', nargs='?', const='results.json', metavar='FILE',
                    help="write Gradescope's results.json (default ./results.json)")
    ap.add_argument('--handin', action='store_true',
                    help='grade one lab and pack the files and the result into build/handin/')
    ap.add_argument('--pdb', action='store_true',
                    help="stop in pdb at the first failing test (the student's code; `guest` shows the guest)")
    ap.add_argument('--one', nargs=2, metavar=('LAB', 'TEST'), help=argparse.SUPPRESS)
    ap.add_argument('--result', help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        return run_one(args.one[0], args.one[1], args.dir, args.reference, args.result, args.pdb)
    names = args.labs or lab_names()
    unknown = [n for n in names if n not in lab_names()]
    if unknown:
        ap.error(f'no lab {", ".join(unknown)} (labs: {", ".join(lab_names())})')
    if (args.dir or args.handin or args.gradescope) and len(names) != 1:
        ap.error('--dir, --handin and --gradescope grade exactly one lab')
    prepare()
    report = run_labs(names, args.dir, args.reference, args.starter, args.jobs,
                      only=args.only, pdb=args.pdb)
    if args.gradescope:
        Path(args.gradescope).write_text(json.dumps(gradescope(report), indent=1) + '\n')
        print(f'grade: wrote {args.gradescope}')
    if args.handin:
        where = where_to_grade(names[0], args.dir, args.reference, args.starter, io.StringIO())
        path = handin(names[0], where, report)
        print(f'grade: hand in {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} '
              f'(your files, grade.txt and results.json)')
        return 0                       # the hand-in is made, whatever the score
    return 0 if report.score == report.total and not report.stopped else 1


if __name__ == '__main__':
    sys.exit(main())
