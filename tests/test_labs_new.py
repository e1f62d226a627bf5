"""The labs lazy, mmap, fs, threads and sched (labs/NAME/, kernel/labs.py): activating each
lab rebinds exactly its names, and deactivating restores ukern's own; the sched lab's hook.
(Their grading -- reference full, starter low, the broken solution failing exactly the
tests in its LOSES file -- is checked for every lab by tests/test_labs.py.)"""

import pytest

from kernel import labs

NEW_LABS = ['lazy', 'mmap', 'fs', 'threads', 'sched']


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
