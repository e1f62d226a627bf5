"""The course labs (labs/, kernel/labs.py): for every lab, grading ukern's own parts gives
full marks, and grading the untouched starter code gives a low score with FAIL lines (so the
lab's tests can fail).  Also: starting and stopping a lab rebinds and restores the kernel."""

import io
import shutil
import sys

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
    work = tmp_path / 'student'
    shutil.copytree(labs.get(lab).directory / 'starter', work)
    out = io.StringIO()
    score, total = graded.grade([lab], directory=work, out=out)
    text = out.getvalue()
    assert score <= total * 0.4, text
    fails = [l for l in text.splitlines() if l.startswith('== Test ') and 'FAIL' in l]
    assert fails, text
    assert 'expected:' in text and 'got:' in text


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
