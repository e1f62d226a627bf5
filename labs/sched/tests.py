"""Grading tests of the scheduler lab (labs/sched/README.md).  Shares are measured in
virtual time, so every run gives the same numbers."""

from collections import Counter

from gradelib import test, expect, expect_true, passed, boot, run, USERLAND

SLICE = 1_000_000             # ns: one quantum of 1M instructions


def _tasks(nices):
    """A kernel with one runnable task (not yet run) per nice value, in queue order."""
    k, _, _ = boot()
    tasks = []
    for n in nices:
        p = k.spawn((USERLAND / 'bin/true').read_bytes(), [b'true'], [])
        p.options.nice = n
        tasks.append(p)
    expect('tasks in the run queue', [t.pid for t in tasks], [t.pid for t in k.runqueue])
    return k, tasks


def _simulate(k, slices: int, ran: int = SLICE) -> Counter:
    """Run the scheduler alone: the head of the queue `runs` a slice, then after_slice."""
    from kernel.proc import sched
    ran_by = Counter()
    for _ in range(slices):
        p = k.runqueue[0]
        ran_by[p.pid] += ran
        sched.after_slice(k, p, ran)
    return ran_by


def _per_mille(ran_by, tasks):
    total = sum(ran_by.values())
    return [ran_by[t.pid] * 1000 // total for t in tasks]


@test('sched: tests/sched_nice (spinners at nice 0, 5, 10 get CPU time by weight)', points=30)
def _():
    r = run('tests/sched_nice')
    passed(r, 'sched_nice')


@test('sched: nice_weight (1024 at nice 0, 1.25 times less per level)', points=10)
def _():
    from kernel.proc import sched
    want = {0: 1024, 1: 819, 5: 336, 10: 110, 19: 15, -1: 1280, -5: 3125, -20: 88818}
    got = {n: sched.nice_weight(n) for n in want}
    close = {n: abs(got[n] - w) <= max(1, w // 100) for n, w in want.items()}
    expect('nice_weight(n) for n in ' + str(list(want)), want,
           {n: (want[n] if close[n] else got[n]) for n in want})


@test('sched: shares follow the weights (nice 0, 5, 10 and 0, 0, 3)', points=25)
def _():
    for nices in ((0, 5, 10), (0, 0, 3)):
        k, tasks = _tasks(nices)
        ran_by = _simulate(k, 3000)
        weights = [round(1024 / 1.25 ** n) for n in nices]
        want = [w * 1000 // sum(weights) for w in weights]
        got = _per_mille(ran_by, tasks)
        expect_true(f'per mille of CPU at nice {nices} (within 15)', all(abs(g - w) <= 15 for g, w in zip(got, want)),
                    want, got)


@test('sched: equal nice takes turns', points=5)
def _():
    k, tasks = _tasks((0, 0, 0))
    order = []
    from kernel.proc import sched
    for _ in range(12):
        p = k.runqueue[0]
        order.append(tasks.index(p))
        sched.after_slice(k, p, SLICE)
    expect('who ran in each of 12 slices (each runs once in every 3)', True,
           all(sorted(order[i:i + 3]) == [0, 1, 2] for i in range(0, 12, 3)), f'{order}')


@test('sched: a newcomer gets its share, not a burst to catch up', points=15)
def _():
    k, tasks = _tasks((0, 0))
    _simulate(k, 1000)
    late = k.spawn((USERLAND / 'bin/true').read_bytes(), [b'true'], [])     # joins at the tail
    ran_by = _simulate(k, 30)
    expect_true('slices of 30 the newcomer got (a third: about 10)', 7 <= ran_by[late.pid] // SLICE <= 13,
                '7 to 13', ran_by[late.pid] // SLICE)
    expect_true('slices of 30 the two old tasks got', all(ran_by[t.pid] // SLICE >= 7 for t in tasks),
                '>= 7 each', [ran_by[t.pid] // SLICE for t in tasks])


@test('sched: a task that blocked or exited is not put back in the queue', points=5)
def _():
    from kernel.proc import sched
    from kernel.proc.process import State
    k, tasks = _tasks((0, 0, 0))
    p = k.runqueue[0]
    p.state = State.BLOCKED                  # as Kernel._block leaves it
    k.runqueue.remove(p)
    sched.after_slice(k, p, SLICE)
    expect('the queue after the head blocked', sorted(t.pid for t in tasks[1:]), sorted(t.pid for t in k.runqueue))
    k.runqueue[0].state = State.ZOMBIE
    q = k.runqueue.pop(0)
    sched.after_slice(k, q, SLICE)
    expect('the queue after the next one exited', [tasks[2].pid], [t.pid for t in k.runqueue])


@test('sched: the kernel\'s own tests of many tasks with your scheduler', points=10)
def _():
    for name in ('fork_cow', 'sleep_yield', 'thread_sync', 'pipe_basic', 'misc_sched'):
        passed(run(f'tests/{name}'), name)
