"""Grading tests of the threads lab (labs/threads/README.md)."""

import re

from gradelib import test, expect, expect_true, passed, boot, run, USERLAND


@test('threads: tests/threads_lab (threads share memory and descriptors; futex wait, wake, timeout)', points=25)
def _():
    passed(run('tests/threads_lab'), 'threads_lab')


@test('threads: the kernel\'s own thread tests (thread_basic, thread_more, thread_sync, thread_clone3)', points=20)
def _():
    for name in ('thread_basic', 'thread_more', 'thread_sync', 'thread_clone3'):
        passed(run(f'tests/{name}'), name)


@test('threads: new_thread shares what a thread shares, and nothing else', points=15)
def _():
    from kernel.proc import lifecycle
    from kernel.proc.process import THREAD_SHARED
    k, _, _ = boot()
    p = k.spawn((USERLAND / 'bin/true').read_bytes(), [b'true'], [])
    t = lifecycle.new_thread(k, p, True, True)
    expect_true('new_thread returned a thread', not isinstance(t, int), 'a Process', t)
    expect('thread group id of the new thread', p.tgid, t.tgid)
    expect_true('the new thread\'s id is its own', t.pid != p.pid and t.pid not in (0, None), 'a new pid', t.pid)
    not_shared = [name for name in THREAD_SHARED if getattr(t, name) is not getattr(p, name)]
    expect('fields of THREAD_SHARED that are not the parent\'s own objects', [], not_shared)
    expect('(in the process table, in the run queue)', (True, True), (k.procs.get(t.pid) is t, t in k.runqueue))
    expect('(ppid, pgid, sid) of the thread', (p.ppid, p.pgid, p.sid), (t.ppid, t.pgid, t.sid))
    expect_true('the thread has registers of its own', t.ctx is not p.ctx and t.ctx is not None, 'its own context', t.ctx)
    expect('the thread\'s rax (clone returns 0 in it)', 0, k.cpu.context_reg(t.ctx, 'rax'))
    u = lifecycle.new_thread(k, p, False, False)
    expect('without CLONE_FILES / CLONE_FS: (fds, cwd) shared', (False, False), (u.fds is p.fds, u.cwd is p.cwd))
    expect('... but a copy of the same descriptors', sorted(p.fds.fds), sorted(u.fds.fds))
    expect('... and the same directory', p.cwd.path, u.cwd.path)
    expect('without CLONE_FILES: the address space still shared', True, u.aspace is p.aspace)
    from kernel.proc.resources import Rlimit
    p.limits.values[Rlimit.NPROC] = (len(k.procs), len(k.procs))
    from kernel.errno import Errno
    expect('new_thread past RLIMIT_NPROC', -Errno.EAGAIN, lifecycle.new_thread(k, p, True, True))


def _held():
    """Run `threads_lab hold` until all four of its threads wait in futex()."""
    from kernel.proc.process import State
    k, out, log = boot()
    p = k.spawn((USERLAND / 'tests/threads_lab').read_bytes(), [b'threads_lab', b'hold'], [])
    k.run()
    text = bytes(out).decode(errors='replace')
    m = re.search(r'hold: word=0x([0-9a-f]+)', text)
    expect_true('threads_lab hold got its waiters going', m is not None, '"hold: word=..."', text, text)
    threads = sorted((t for t in k.procs.values() if t.tgid == p.tgid and t.state is not State.ZOMBIE),
                     key=lambda t: t.pid)
    return k, p, int(m.group(1), 16), threads


@test('threads: FUTEX_WAIT blocks the thread, queued under its word\'s key', points=15)
def _():
    from kernel.proc import futex
    from kernel.proc.process import State
    k, p, word, threads = _held()
    expect('threads of threads_lab (main + 3 waiters)', 4, len(threads))
    expect('their states', ['blocked'] * 4, [t.state.value for t in threads])
    expect('what they wait on', ['futex'] * 4, [getattr(t.waiting_on, 'name', repr(t.waiting_on)) for t in threads])
    key = futex.key_of(k, p, word, private=True)
    queued = [w.proc.pid for w in k.futexes.queues.get(key, [])]
    expect('threads queued under the word\'s key, oldest first', [t.pid for t in threads[1:]], queued)
    expect('the waiters are the ones the threads yielded', [t.waiting_on for t in threads[1:]],
           k.futexes.queues.get(key, []))
    expect('runnable threads', [], [t.pid for t in k.runqueue])


@test('threads: FUTEX_WAKE wakes as many as asked, oldest first, by bitset', points=15)
def _():
    from kernel.proc import futex
    from kernel.proc.process import State
    k, p, word, threads = _held()
    key = futex.key_of(k, p, word, private=True)
    waiters = threads[1:]
    expect('wake(key, 1, bitset 0) (no waiter\'s bitset meets it)', 0, k.futexes.wake(key, 1, 0))
    expect('wake(key, 1)', 1, k.futexes.wake(key, 1))
    expect('states of the three waiters after wake(key, 1)', ['runnable', 'blocked', 'blocked'],
           [t.state.value for t in waiters])
    expect('the woken waiter is out of the table', [t.pid for t in waiters[1:]],
           [w.proc.pid for w in k.futexes.queues.get(key, [])])
    expect('wake(key, 5) with two left', 2, k.futexes.wake(key, 5))
    expect('the key\'s queue is gone once empty', False, key in k.futexes.queues)
    expect('wake(key, 1) with nobody left', 0, k.futexes.wake(key, 1))
    k.run()
    expect('the woken waiters ran to their end (blocked ones left)', [],
           [t.pid for t in waiters if t.state is State.BLOCKED])


@test('threads: a waiter that times out leaves the table; a signal ends a wait', points=10)
def _():
    for name in ('thread_futex', 'thread_signal'):
        passed(run(f'tests/{name}'), name)
