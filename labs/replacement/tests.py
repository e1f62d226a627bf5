"""Grading tests of the page-replacement lab (labs/replacement/README.md).  The student's
policies are compared with ukern's reference policies (kernel/mm/policy/) fault for fault."""

import sys
from pathlib import Path

from gradelib import test, expect, expect_true, regression, USERLAND, ROOT

sys.path.insert(0, str(Path(__file__).resolve().parent))
BELADY = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5]
MINE, REF = 'lab-second-chance', 'second-chance'


def _traces():
    from kernel.mm.policy.simulate import hot_set_with_scan, loop, uniform
    return {
        'hot-scan': hot_set_with_scan(6000, 30, 600, 0.6, seed=3),
        'loop': loop(3000, 70),
        'uniform': uniform(5000, 150, seed=4),
    }


def _compare(mine, ref, traces, sizes, **kw):
    from kernel.mm.policy.simulate import simulate
    for name, trace in traces.items():
        for frames in sizes:
            want = simulate(ref, trace, frames, **kw).faults
            got = simulate(mine, trace, frames, **kw).faults
            expect(f'faults on {name} with {frames} frames (reference {ref}: {want})', want, got)


@test('replacement: second chance on Belady\'s string (10 and 8 faults)', points=15)
def _():
    from kernel.mm.policy.simulate import simulate
    expect('faults with 3 frames', 10, simulate(MINE, BELADY, 3).faults)
    expect('faults with 4 frames', 8, simulate(MINE, BELADY, 4).faults)


@test('replacement: second chance = the reference on the workloads', points=25)
def _():
    _compare(MINE, REF, _traces(), (10, 32, 64, 100))


@test('replacement: ... also when the faulting access sets the A bit', points=10)
def _():
    _compare(MINE, REF, _traces(), (16, 64), fault_sets_referenced=True)


@test('replacement: pinned, removed and reclaim-scanned pages (the kernel contract)', points=20)
def _():
    sys.path.insert(0, str(ROOT / 'tests'))
    from test_policies import Machine, churn
    from kernel.mm.policy import make
    for seed, pin, unmap in ((11, 0.05, 0.0), (12, 0.0, 0.08), (13, 0.03, 0.03)):
        mine, ref = Machine(make(MINE), 16), Machine(make(REF), 16)
        churn(mine, seed=seed, pin_rate=pin, unmap_rate=unmap)
        churn(ref, seed=seed, pin_rate=pin, unmap_rate=unmap)
        expect(f'victims (seed {seed}): how many', len(ref.victims), len(mine.victims))
        first = next((i for i, (a, b) in enumerate(zip(ref.victims, mine.victims)) if a != b), None)
        expect(f'victims (seed {seed}): the first that differs from the reference',
               None, None if first is None else f'#{first}: {mine.victims[first]} '
                                                   f'(reference: {ref.victims[first]})')


@test('replacement: the guest workload tests/replace_workload (A bits sampled)', points=30)
def _():
    from workload import sampled_trace
    trace, (proc, out, log) = sampled_trace(USERLAND / 'tests/replace_workload')
    expect('replace_workload exit status', 0, proc.exit_status, bytes(out).decode(errors='replace'))
    expect_true('references sampled', len(trace) > 1000, '> 1000', len(trace))
    _compare(MINE, REF, {'replace_workload': trace}, (16, 24, 48))


@test('replacement: CLOCK-Pro = the reference clock-pro', points=20, optional=True)
def _():
    traces = _traces()
    from workload import sampled_trace
    traces['replace_workload'] = sampled_trace(USERLAND / 'tests/replace_workload')[0]
    _compare('lab-clock-pro', 'clock-pro', traces, (16, 64, 100))


# The regression part boots the kernel with the student's second chance as its replacement
# policy: the memory-pressure runs swap through it (gradelib.REGRESSION).
regression(boot={'policy': MINE})
