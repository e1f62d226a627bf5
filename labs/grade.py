"""The labs' grader: `make grade LAB=NAME` (or `python labs/grade.py [NAME ...]`).

Runs each test of labs/NAME/tests.py in a fresh Python process with lab NAME active on the
student's files (labs/NAME/student/, or --dir DIR; --reference grades ukern's own parts,
--starter the untouched starter code) and prints, as xv6's grader does,

    == Test cow: fork then write == OK (0.4s)
    == Test cow: ... == FAIL (0.5s)
        expected: ...
        got:      ...
    Score: N/M

With no NAME every lab is graded (a lab not started is graded on its starter code).
Exit status 0 when every graded test passed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

MARK = '@@ukern-grade@@ '
TIMEOUT = 120                 # seconds per test


def lab_names() -> list[str]:
    from kernel.labs import LABS
    return list(LABS)


def load_tests(lab: str):
    """The Test list of labs/LAB/tests.py."""
    import importlib.util
    import gradelib
    gradelib.TESTS.clear()
    path = HERE / lab / 'tests.py'
    spec = importlib.util.spec_from_file_location(f'ukern_grade_{lab}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tests = list(gradelib.TESTS)
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
        make_disk(image, root, 32 << 20)


# -- one test, in its own process -------------------------------------------------------------

def run_one(lab: str, name: str, directory: str, reference: bool) -> int:
    from kernel import labs
    result = {'ok': False}
    try:
        labs.activate(lab, directory, reference=reference)
        test = next(t for t in load_tests(lab) if t.name == name)
        test.func()
        result = {'ok': True}
    except Exception as e:              # noqa: BLE001 -- anything the student's code raises
        import gradelib
        import traceback
        if isinstance(e, gradelib.Fail):
            result = {'ok': False, 'what': e.what, 'expected': str(e.expected),
                      'got': str(e.got), 'detail': e.detail}
        else:
            tb = traceback.format_exception(type(e), e, e.__traceback__)
            result = {'ok': False, 'what': 'the test raised an exception',
                      'expected': 'no exception', 'got': f'{type(e).__name__}: {e}',
                      'detail': ''.join(tb[-3:]).rstrip()}
            if 'can never come' in str(e):
                result['what'] = ('a request never completed: the kernel waited for an event '
                                  'that can never come')
    sys.stdout.flush()
    print(MARK + json.dumps(result), flush=True)
    return 0


def _spawn(lab: str, name: str, directory: Path, reference: bool) -> tuple[dict, float]:
    cmd = [sys.executable, str(Path(__file__).resolve()), '--one', lab, name, '--dir', str(directory)]
    if reference:
        cmd.append('--reference')
    env = dict(os.environ)
    for var in ('UKERN_LAB', 'UKERN_LAB_DIR', 'UKERN_LAB_REFERENCE'):
        env.pop(var, None)
    start = time.monotonic()
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {'ok': False, 'what': 'time limit', 'expected': f'done within {TIMEOUT}s',
                'got': 'still running (killed)'}, time.monotonic() - start
    took = time.monotonic() - start
    for line in reversed(r.stdout.splitlines()):
        if line.startswith(MARK):
            result = json.loads(line[len(MARK):])
            extra = r.stdout[:r.stdout.rfind(MARK)].strip()
            if extra and not result['ok']:
                result['detail'] = (result.get('detail', '') + '\nprinted:\n' + extra[-1500:]).strip()
            return result, took
    return {'ok': False, 'what': 'the test process died', 'expected': 'a result',
            'got': f'exit status {r.returncode}',
            'detail': (r.stderr or r.stdout)[-2000:]}, took


# -- a whole lab -------------------------------------------------------------------------------

def grade(labs: list[str], directory: Path | None = None, reference: bool = False,
          starter: bool = False, jobs: int | None = None, out=None) -> tuple[int, int]:
    """Grade `labs`; prints the xv6-style lines to `out`; returns (score, total)."""
    out = out or sys.stdout
    from kernel.labs import get
    plan = []
    for lab in labs:
        info = get(lab)
        if directory is not None:
            where = Path(directory)
        elif starter:
            where = info.directory / 'starter'
        elif info.student_dir.exists():
            where = info.student_dir
        else:
            where = info.directory / 'starter'
            if not reference:
                print(f'({lab}: not started -- grading the starter code; '
                      f'`make lab-start LAB={lab}` to begin)', file=out)
        for t in load_tests(lab):
            plan.append((lab, t, where))
    jobs = jobs or max(1, min(4, os.cpu_count() or 1))
    score = total = cscore = ctotal = 0
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(_spawn, lab, t.name, where, reference) for lab, t, where in plan]
        for (lab, t, where), fut in zip(plan, futures):
            result, took = fut.result()
            tag = ' (challenge)' if t.optional else ''
            if result['ok']:
                print(f'== Test {t.name}{tag} == OK ({took:.1f}s)', file=out)
            else:
                print(f'== Test {t.name}{tag} == FAIL ({took:.1f}s)', file=out)
                print(f'    {result["what"]}', file=out)
                print(f'    expected: {result["expected"]}', file=out)
                print(f'    got:      {result["got"]}', file=out)
                for line in (result.get('detail') or '').splitlines()[-15:]:
                    print(f'    | {line}', file=out)
            out.flush()
            if t.optional:
                ctotal += t.points
                cscore += t.points if result['ok'] else 0
            else:
                total += t.points
                score += t.points if result['ok'] else 0
    if ctotal:
        print(f'Challenge: {cscore}/{ctotal} (not in the score)', file=out)
    print(f'Score: {score}/{total}', file=out)
    return score, total


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog='grade', description='grade ukern course labs')
    ap.add_argument('labs', nargs='*', help='labs to grade (default: all)')
    ap.add_argument('--dir', help='the student files to grade (default labs/NAME/student)')
    ap.add_argument('--reference', action='store_true', help="grade ukern's own parts")
    ap.add_argument('--starter', action='store_true', help='grade the untouched starter code')
    ap.add_argument('-j', '--jobs', type=int, help='tests run at once (default: up to 4)')
    ap.add_argument('--one', nargs=2, metavar=('LAB', 'TEST'), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        return run_one(args.one[0], args.one[1], args.dir, args.reference)
    names = args.labs or lab_names()
    unknown = [n for n in names if n not in lab_names()]
    if unknown:
        ap.error(f'no lab {", ".join(unknown)} (labs: {", ".join(lab_names())})')
    if args.dir and len(names) != 1:
        ap.error('--dir needs exactly one lab')
    prepare()
    score, total = grade(names, args.dir, args.reference, args.starter, args.jobs)
    return 0 if score == total else 1


if __name__ == '__main__':
    sys.exit(main())
