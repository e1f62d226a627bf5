"""The course labs (labs/, kernel/labs.py): for every lab, grading ukern's own parts gives
full marks, grading the untouched starter code gives a low score with FAIL lines (so the
lab's tests can fail), and grading its deliberately broken solution (labs/NAME/broken/)
fails exactly the tests its mistake must fail (labs/NAME/broken/LOSES).  Also: starting and
stopping a lab rebinds and restores the kernel; the grader alone decides which lab is
active, and the suite runs with none; hand-in, Gradescope's results.json, pdb, and the
one-line refusal without the project's Python.  (Handouts and the regression part:
test_labs_course.py.)"""

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / 'labs'))

from kernel import labs  # noqa: E402

LAB_NAMES = list(labs.LABS)


@pytest.fixture(scope='session')
def graded(userland):
    import grade
    grade.prepare()
    return grade


@pytest.mark.parametrize('lab', LAB_NAMES)
def test_reference_solution_gets_full_marks(graded, lab):
    out = io.StringIO()
    score, total = graded.grade([lab], reference=True, out=out)
    assert total > 0
    assert score == total, out.getvalue()
    assert 'FAIL' not in out.getvalue(), out.getvalue()
    assert f'Score: {total}/{total}' in out.getvalue()


@pytest.mark.parametrize('lab', LAB_NAMES)
def test_untouched_starter_gets_a_low_score_with_fail_lines(graded, lab, tmp_path):
    """Low on the lab's own tests (the starter is a correct kernel that lacks the lab's
    work: it may pass the regression part)."""
    work = tmp_path / 'student'
    shutil.copytree(labs.get(lab).directory / 'starter', work)
    out = io.StringIO()
    report = graded.run_labs([lab], directory=work, out=out, regression=False)
    text = out.getvalue()
    score, total = report.lab_part()
    assert total > 0 and score <= total * 0.4, text
    fails = [l for l in text.splitlines() if l.startswith('== Test ') and 'FAIL' in l]
    assert fails, text
    assert 'expected:' in text and 'got:' in text


def _loses(lab: str) -> list[str]:
    path = labs.get(lab).directory / 'broken' / 'LOSES'
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize('lab', LAB_NAMES)
def test_a_broken_solution_fails_the_tests_of_its_mistake(graded, lab):
    """labs/NAME/broken/ holds a solution with one known mistake: it loses points, in
    exactly the tests that check what it got wrong (and passes the rest)."""
    broken = labs.get(lab).directory / 'broken'
    assert broken.is_dir(), f'lab {lab} has no deliberately broken solution in {broken}'
    out = io.StringIO()
    report = graded.run_labs([lab], directory=broken, out=out)
    failed = sorted(o.name for o in report.outcomes if not o.ok and not o.optional)
    must = _loses(lab)
    assert report.score < report.total, out.getvalue()
    assert failed == sorted(o.name for o in report.outcomes if not o.optional
                            and any(o.name.startswith(m) for m in must)), out.getvalue()


def test_a_cow_solution_that_skips_the_reverse_map_passes_its_tests_but_not_the_regression(graded):
    """The issue's case: the lab's own tests all pass, the regression part catches the
    reverse map the solution forgot, and says which of the student's code ran."""
    out = io.StringIO()
    report = graded.run_labs(['cow'], directory=labs.get('cow').directory / 'broken', out=out)
    text = out.getvalue()
    score, total = report.lab_part()
    assert score == total, text
    assert report.score < report.total, text
    assert 'missing from the reverse map' in text, text
    assert 'your code in ' in text and 'cow.py:fork as kernel.mm.vm:AddressSpace.fork' in text, text


def test_activate_rebinds_and_deactivate_restores():
    from kernel.mm import fault
    from kernel.mm.vm import AddressSpace
    from kernel.sys.table import SYSCALLS
    fork, break_cow = AddressSpace.fork, fault._break_cow
    labs.activate('cow', labs.get('cow').directory / 'starter')
    try:
        assert AddressSpace.fork is not fork and fault._break_cow is not break_cow
        assert fault._break_cow.__module__.startswith('ukern_lab_cow')
    finally:
        labs.deactivate()
    assert AddressSpace.fork is fork and fault._break_cow is break_cow
    had = 1000 in SYSCALLS
    labs.activate('syscall', reference=True)
    assert SYSCALLS[1000].name == 'trace' and SYSCALLS[1001].name == 'sysinfo'
    labs.deactivate()
    assert (1000 in SYSCALLS) == had


def test_start_copies_the_starter_and_stop_deactivates(tmp_path, monkeypatch):
    monkeypatch.delenv('UKERN_LAB', raising=False)
    shutil.copytree(labs.get('cow').directory / 'starter', tmp_path / 'cow' / 'starter')
    monkeypatch.setattr(labs, 'LABS_DIR', tmp_path)
    files = labs.start('cow')
    assert [f.name for f in files] == ['cow.py'] and files[0].exists()
    assert labs.active()[0] == 'cow'
    files[0].write_text(files[0].read_text() + '\n# my work\n')
    labs.start('cow')                         # starting again keeps the student's work
    assert '# my work' in files[0].read_text()
    assert labs.stop() == 'cow'
    assert labs.active() is None
    assert files[0].exists()


def test_every_process_has_its_ukern_page_and_the_pgtbl_lab_swaps_only_the_students_part(userland):
    """The page-table calls (1006, 1007) and the ukern page are part of the kernel; the lab
    rebinds only the three functions the student writes, and installing the ukern page
    twice costs nothing."""
    from kernel.mm import pgtbl_report
    from kernel.sys.table import SYSCALLS
    from conftest import boot
    assert SYSCALLS[1006].name == 'vmprint' and SYSCALLS[1007].name == 'pgaccess'
    assert SYSCALLS[1007].nargs == 3
    k, _, _ = boot()
    p = k.spawn((userland / 'bin' / 'true').read_bytes(), [b'true'], [])
    assert p.aspace.pt.lookup(pgtbl_report.USYSCALL) & 1
    free = k.frames.free_count
    pgtbl_report.install_ukern_page(k, p.aspace, p.pid)
    assert k.frames.free_count == free
    labs.activate('pgtbl', labs.get('pgtbl').directory / 'starter')
    try:
        assert pgtbl_report.vmprint.__module__.startswith('ukern_lab_pgtbl')
    finally:
        labs.deactivate()
    assert pgtbl_report.vmprint.__module__ == 'kernel.mm.pgtbl_report'


def test_objsrv_starter_is_the_reference_server_without_load_and_store():
    ref = (ROOT / 'userland/sbin/objsrv.c').read_text()
    starter = (ROOT / 'labs/objsrv/starter/objsrv.c').read_text()
    assert ref[ref.index('int main(void)'):] == starter[starter.index('int main(void)'):]
    assert 'TODO' in starter


def test_objsrv_broken_is_the_reference_server_with_its_one_mistake():
    """The broken solution is a whole copy of the server: it must follow the reference
    when that changes, so that it loses points for its mistake and nothing else."""
    ref = (ROOT / 'userland/sbin/objsrv.c').read_text().splitlines()
    broken = (ROOT / 'labs/objsrv/broken/objsrv.c').read_text().splitlines()
    body = broken[next(i for i, line in enumerate(broken) if line.endswith('*/')) + 1:]
    differ = [(r, b) for r, b in zip(ref, body) if r != b]
    assert len(body) == len(ref), f'expected {len(ref)} lines after the header, got {len(body)}'
    assert len(differ) == 1 and 'THE MISTAKE' in differ[0][1], \
        f'expected one changed line (THE MISTAKE), got {differ}'


# -- isolation: the grader decides the lab; the suite runs with none --------------------------

def test_the_environment_decides_over_a_labs_active_marker(tmp_path, monkeypatch):
    shutil.copytree(labs.get('cow').directory / 'starter', tmp_path / 'cow' / 'starter')
    monkeypatch.setattr(labs, 'LABS_DIR', tmp_path)
    monkeypatch.delenv('UKERN_LAB', raising=False)
    labs.start('cow')                                   # labs/cow/student/.active
    try:
        assert labs.active()[0] == 'cow'
        monkeypatch.setenv('UKERN_LAB', 'syscall')      # what the grader sets
        monkeypatch.setenv('UKERN_LAB_REFERENCE', '1')
        assert labs.active()[0] == 'syscall'
        monkeypatch.setenv('UKERN_LAB', 'none')         # what the test suite sets
        assert labs.active() is None
        assert labs.activate_active() is None
    finally:
        labs.stop()


def test_the_suite_runs_with_no_lab_whatever_a_student_started(userland, tmp_path, monkeypatch):
    """tests/conftest.py sets UKERN_LAB=none: a Kernel booted while a lab's marker exists
    keeps ukern's own parts."""
    from conftest import boot
    from kernel.mm.vm import AddressSpace
    assert os.environ['UKERN_LAB'] == 'none'
    shutil.copytree(labs.get('cow').directory / 'starter', tmp_path / 'cow' / 'starter')
    monkeypatch.setattr(labs, 'LABS_DIR', tmp_path)
    fork = AddressSpace.fork
    labs.start('cow')
    try:
        boot()
        assert AddressSpace.fork is fork
    finally:
        labs.stop()


def test_grading_one_lab_ignores_another_labs_active_marker(graded):
    """The issue's case: with cow started, grading the untouched syscall starter fails
    (it graded the reference before, 100/100)."""
    marker = labs.get('cow').student_dir / '.active'
    if marker.exists():
        pytest.skip('a student has started lab cow in this tree')
    made = not marker.parent.exists()
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text('cow\n')
    try:
        out = io.StringIO()
        report = graded.run_labs(['syscall'], starter=True, out=out, only='sysinfo reports')
    finally:
        marker.unlink()
        if made:
            marker.parent.rmdir()
    assert [o.ok for o in report.outcomes] == [False], out.getvalue()
    assert 'sysinfo returns 0: expected 0, got -1' in out.getvalue()


# -- what a course needs ------------------------------------------------------------------------

def test_gradescope_results_and_the_handin_tarball(graded, tmp_path):
    work = tmp_path / 'student'
    work.mkdir()
    shutil.copyfile(labs.get('syscall').directory / 'broken' / 'syscall.py', work / 'syscall.py')
    (work / '.active').write_text('syscall\n')
    out = io.StringIO()
    report = graded.run_labs(['syscall'], directory=work, out=out, only='mask is inherited')
    results = graded.gradescope(report)
    assert results['score'] == 0 and results['max_score'] == 15
    [t] = results['tests']
    assert t['name'] == "syscall: the mask is inherited by fork's child"
    assert (t['score'], t['max_score'], t['status']) == (0, 15, 'failed')
    assert 'expected: "2: syscall getpid -> 2"' in t['output']
    path = graded.handin('syscall', work, report, tmp_path / 'out')
    with tarfile.open(path) as tar:
        names = sorted(tar.getnames())
        assert names == ['syscall/grade.txt', 'syscall/results.json', 'syscall/syscall.py']
        assert json.loads(tar.extractfile('syscall/results.json').read()) == results
        assert tar.extractfile('syscall/grade.txt').read().decode().endswith('Score: 0/15\n')


def _grade_cli(*args, **kw):
    return subprocess.run([sys.executable, str(ROOT / 'labs' / 'grade.py'), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, **kw)


def test_gradescope_from_the_command_line_with_a_handin_as_the_submission(graded, tmp_path):
    """A Gradescope submission directory holding the unpacked hand-in (syscall/...)."""
    submission = tmp_path / 'submission'
    shutil.copytree(labs.get('syscall').directory / 'broken', submission / 'syscall')
    results = tmp_path / 'results.json'
    r = _grade_cli('syscall', '--dir', str(submission), '--gradescope', str(results), '-k', 'sysinfo reports')
    data = json.loads(results.read_text())
    assert r.returncode == 0, r.stdout + r.stderr
    assert data['score'] == data['max_score'] == 30
    assert data['tests'][0]['status'] == 'passed'


def test_pdb_stops_in_the_students_code_and_shows_the_guest(graded, tmp_path):
    work = tmp_path / 'student'
    shutil.copytree(labs.get('cow').directory / 'starter', work)
    code = (work / 'cow.py').read_text()
    code = code.replace('    mem = self.frames.memory\n',
                        '    mem = self.frames.memory\n    pages = len(self.regions) // 0\n')
    (work / 'cow.py').write_text(code)
    r = _grade_cli('cow', '--dir', str(work), '--pdb', '-k', 'fork_cow (parent',
                   input='p len(self.regions) > 0\nguest\ncode\nq\n')
    out = r.stdout
    assert r.returncode == 1
    assert 'ZeroDivisionError' in out and 'raised in cow.py line' in out, out
    assert 'cow.py(' in out and ')_copy_into()' in out, out         # pdb's frame: the student's
    assert '(Pdb) True' in out, out                                  # `p ...` in that frame
    assert '(Pdb) pid 1 ' in out and 'page table 0x' in out and ' ..0: PML4E ' in out, out
    assert 'cow.py:fork as kernel.mm.vm:AddressSpace.fork, 1 calls' in out, out
    assert '(--pdb: stopped at the first failing test)' in out, out


def test_pdb_on_a_kernel_failure_the_students_code_caused(graded):
    r = _grade_cli('cow', '--dir', str(labs.get('cow').directory / 'broken'), '--pdb',
                   '-k', 'regression: pipes', input='guest\nq\n')
    out = r.stdout
    assert 'reverse map names va' in out and ')_books()' in out, out     # where the check failed
    assert '(Pdb) kernel: no live process (1 zombies); ' in out, out        # `guest`: after the run
    assert 'your code in ' in out and 'cow.py:break_cow as kernel.mm.fault:_break_cow, 21 calls' in out, out


def test_ukern_lab_run_pdb_stops_at_a_kernel_bug_in_the_students_code(userland, tmp_path):
    work = tmp_path / 'student'
    work.mkdir()
    code = (labs.get('cow').directory / 'broken' / 'cow.py').read_text()
    code = code.replace('    old = frame_of(pte)\n', '    old = frame_of(pte)\n    share = frames.refs(old) // 0\n', 1)
    (work / 'cow.py').write_text(code)
    env = dict(os.environ, UKERN_LAB='cow', UKERN_LAB_DIR=str(work))
    r = subprocess.run([sys.executable, '-m', 'kernel', 'lab', 'run', '--pdb', 'run',
                        str(userland / 'tests' / 'fork_cow')], cwd=ROOT, env=env, input='p old > 0\nguest\nq\n',
                       capture_output=True, text=True, timeout=300)
    out = r.stdout
    assert '*** kernel bug while serving pid 1' in out and 'raised in cow.py line ' in out, out + r.stderr
    assert ')break_cow()' in out and '(Pdb) True' in out, out
    assert '(Pdb) pid 1 (fork_cow) runnable' in out and '|COW|' in out, out
    assert out.count('(Pdb)') == 3, out                  # the first bug only
    assert 'ukern: kernel bug while serving pid 1 (fork_cow): ZeroDivisionError' in r.stderr + out


def test_without_the_projects_python_the_grader_says_so_in_one_line():
    r = subprocess.run([sys.executable, '-S', str(ROOT / 'labs' / 'grade.py'), 'syscall'],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert r.stdout == ''
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith('grade: this Python (') and 'unicorn' in lines[0], r.stderr
    assert 'make grade' in lines[0]
