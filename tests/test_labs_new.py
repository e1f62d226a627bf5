"""The labs lazy, mmap, fs, threads and sched (labs/NAME/, kernel/labs.py): the reference
(ukern's own parts) gets full marks, the untouched starter a low score, and a solution with
one known mistake (labs/NAME/broken/, its docstring names the mistake) loses points on the
test that looks for it.  Also: activating each lab rebinds exactly its names, and
deactivating restores ukern's own."""

import io
import shutil
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / 'labs'))

from kernel import labs  # noqa: E402

NEW_LABS = ['lazy', 'mmap', 'fs', 'threads', 'sched']

# the test each broken solution must fail (a substring of its name)
BROKEN_FAILS = {
    'lazy': 'shrinking the break frees its pages',
    'mmap': 'a private mapping maps the cache\'s frame copy-on-write',
    'fs': 'debugfs reads the big and the sparse file',
    'threads': 'FUTEX_WAKE wakes as many as asked',
    'sched': 'a newcomer gets its share',
}


@pytest.fixture(scope='session')
def graded(userland):
    import grade
    grade.prepare()
    return grade


def _failed(text: str) -> list[str]:
    return [l for l in text.splitlines() if l.startswith('== Test ') and 'FAIL' in l]


@pytest.mark.parametrize('lab', NEW_LABS)
def test_reference_gets_full_marks(graded, lab):
    out = io.StringIO()
    score, total = graded.grade([lab], reference=True, out=out)
    assert total == 100 and score == total, out.getvalue()
    assert not _failed(out.getvalue()), out.getvalue()


@pytest.mark.parametrize('lab', NEW_LABS)
def test_starter_gets_a_low_score(graded, lab, tmp_path):
    work = tmp_path / 'student'
    shutil.copytree(labs.get(lab).directory / 'starter', work)
    out = io.StringIO()
    score, total = graded.grade([lab], directory=work, out=out)
    assert score <= total * 0.4, out.getvalue()
    assert _failed(out.getvalue()) and 'expected:' in out.getvalue()


@pytest.mark.parametrize('lab', NEW_LABS)
def test_broken_solution_loses_points_where_its_mistake_shows(graded, lab, tmp_path):
    work = tmp_path / 'student'
    shutil.copytree(labs.get(lab).directory / 'broken', work)
    out = io.StringIO()
    score, total = graded.grade([lab], directory=work, out=out)
    assert score < total, out.getvalue()
    assert any(BROKEN_FAILS[lab] in l for l in _failed(out.getvalue())), out.getvalue()
    assert 'THE MISTAKE' in ''.join(f.read_text() for f in work.glob('*.py'))


@pytest.mark.parametrize('lab', NEW_LABS)
def test_each_lab_rebinds_its_names_and_deactivate_restores_them(lab):
    lab_info = labs.get(lab)
    before = {p.target: _value(p.target) for p in lab_info.patches}
    labs.activate(lab, lab_info.directory / 'starter')
    try:
        for p in lab_info.patches:
            now = _value(p.target)
            assert now is not before[p.target], p.target
            func = getattr(now, 'handler', now)
            assert func.__module__.startswith(f'ukern_lab_{lab}'), p.target
    finally:
        labs.deactivate()
    assert {p.target: _value(p.target) for p in lab_info.patches} == before


def _value(target: str):
    container, key, is_item = labs._target(target)
    if is_item:
        return container.get(key)
    return container.__dict__[key] if isinstance(container, type) else getattr(container, key)


def test_the_kernel_schedules_round_robin_unless_the_sched_lab_is_graded(userland):
    """ukern's own policy stays round robin (nice changes nothing); the lab's reference,
    by_nice, is installed only while the sched lab is graded on the reference."""
    from kernel.proc import sched
    assert sched.after_slice is sched.round_robin
    labs.activate('sched', reference=True)
    try:
        assert sched.after_slice is sched.by_nice
    finally:
        labs.deactivate()
    assert sched.after_slice is sched.round_robin
    assert [sched.nice_weight(n) for n in (0, 5, 10)] == [1024, 336, 110]
