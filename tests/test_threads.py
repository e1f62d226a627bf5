"""POSIX threads and futexes (issue 15, threads): clone and clone3 with the thread flags,
thread groups (getpid/gettid, exit and exit_group), futexes with virtual-clock timeouts,
thread-directed signals, the task limit, faults in threads, and the deadlock report."""

import json
import subprocess
import sys

import pytest

from conftest import ROOT, run_program, run_on_disk
from test_programs import passed


@pytest.mark.parametrize('program', [
    'thread_basic',      # create/join with values, 4-thread mutex counter, TLS, gettid/getpid
    'thread_sync',       # condition variables (producer/consumer) and barriers
    'thread_proc',       # /proc counts the threads: status, stat, task/
    'thread_futex',      # raw futex ops: EAGAIN, ETIMEDOUT, EFAULT, requeue, wake_op, robust list
    'thread_signal',     # tgkill reaches the named thread; kill() a thread not blocking it
    'thread_clone3',     # a thread by raw clone3; CHILD_CLEARTID clears the word and wakes
    'thread_bomb',       # threads without end stop at EAGAIN below RLIMIT_NPROC
    'thread_more',       # fork from a thread, EINTR from a futex wait, a futex in a shared page
    'thread_badargs',    # bad pointers, flags and tids: EFAULT, EINVAL, ESRCH; wild robust lists
])
def test_thread_program(run, program):
    passed(run(f'tests/{program}'), program)


def test_futex_timeout_advances_virtual_time_only(run):
    r = run('tests/thread_futex')
    passed(r, 'thread_futex')
    assert '10 ms of virtual time went by' in r.text
    assert not r.kernel.futexes.queues                  # no waiter left behind


def test_exit_group_ends_every_thread(run):
    """exit(3) while another thread spins: the process ends with status 3."""
    r = run('tests/thread_exit')
    assert 'exit(3) ends every thread' in r.text and 'FAIL' not in r.text, r.text
    assert r.exit_code == 3
    assert not [t for t in r.kernel.procs.values() if t.state.value != 'zombie']


def test_process_outlives_its_main_thread(run):
    """The main thread calls pthread_exit; the last thread's exit status is the process's."""
    r = run('tests/thread_exit', 'mainexit')
    assert 'the last thread ends the process' in r.text, r.text
    assert r.exit_code == 4


def test_fault_in_a_thread_kills_the_process_and_names_the_thread(run):
    r = run('tests/thread_fault')
    assert r.status == 11                                # SIGSEGV, for the whole process
    report = next(line for line in r.log if 'killed by SIGSEGV' in line)
    assert report.startswith('ukern: pid 1 (thread_fault) thread 2 killed by SIGSEGV'), report
    assert not [t for t in r.kernel.procs.values() if t.state.value != 'zombie']


def test_deadlock_in_pause_is_reported(run):
    r = run('tests/thread_deadlock', 'pause')
    assert r.kernel.deadlocked
    assert 'ukern: deadlock: every process is blocked: pid 1 (thread_deadlock) in pause()' in r.log


def test_deadlock_of_two_threads_names_both(run):
    r = run('tests/thread_deadlock')
    assert r.kernel.deadlocked and 'not reached' not in r.text
    line = next(m for m in r.log if m.startswith('ukern: deadlock'))
    assert line.endswith('pid 1 (thread_deadlock) in futex(), pid 1 (thread_deadlock) thread 2 in futex()')


def test_a_finished_run_is_no_deadlock(run):
    r = run('tests/thread_basic')
    assert not r.kernel.deadlocked and not [m for m in r.log if 'deadlock' in m]


def test_ukern_run_exits_125_on_deadlock(userland):
    r = subprocess.run([sys.executable, '-m', 'kernel.cli', 'run', str(userland / 'tests/thread_deadlock'), 'pause'],
                       capture_output=True, text=True, cwd=ROOT, stdin=subprocess.DEVNULL, timeout=120)
    assert r.returncode == 125, r.stderr
    assert 'ukern: deadlock: every process is blocked: pid 1 (thread_deadlock) in pause()' in r.stderr


def test_threads_have_their_own_trace_tracks(userland, tmp_path):
    from kernel.trace.chrome import ChromeTrace
    from conftest import boot
    kernel, out, log = boot()
    path = tmp_path / 'run.json'
    chrome = ChromeTrace(kernel, path)
    kernel.trace.subscribe(chrome)
    prog = userland / 'tests/thread_handoff'
    kernel.spawn(prog.read_bytes(), [str(prog).encode(), b'20'], [])
    kernel.run()
    chrome.close()
    events = json.loads(path.read_text())['traceEvents']
    names = {(e['pid'], e['tid']): e['args']['name'] for e in events if e['name'] == 'thread_name'}
    assert names[1, 1] == 'pid 1 (thread_handoff)'            # the process's group of tracks
    assert names[1, 2] == 'pid 1 (thread_handoff) thread 2' and names[1, 3] == 'pid 1 (thread_handoff) thread 3'
    futex_calls = {e['tid'] for e in events if e.get('name') == 'futex' and e['pid'] == 1}
    assert futex_calls <= {1, 2, 3} and len(futex_calls) >= 2


def test_proc_lists_processes_and_their_tasks(userland):
    """/proc shows the thread group once; /proc/PID/task has a directory per thread."""
    from conftest import boot
    from kernel.fs.procfs import ProcFs
    from kernel.proc.process import State
    kernel, out, log = boot()
    prog = userland / 'tests/thread_deadlock'
    kernel.spawn(prog.read_bytes(), [str(prog).encode()], [])
    kernel.run()                                          # both threads left blocked
    fs = ProcFs(kernel)

    def names(node: tuple) -> list[bytes]:
        return [name for name, _, _ in fs.readdir(node)][2:]          # past . and ..
    assert [t.state for t in kernel.procs.values()] == [State.BLOCKED, State.BLOCKED]
    assert names(())[:1] == [b'1'] and b'2' not in names(())
    assert names(('1', 'task')) == [b'1', b'2']
    assert fs.open(('1', 'task', '2', 'stat'), 0).content.startswith(b'2 (thread_deadlock) S 0 1 1')
    with pytest.raises(Exception):
        fs.lookup((), b'2')


def test_handoff_runs_natively_the_same(userland):
    """The benchmark's program is an ordinary static binary: the host runs it too."""
    prog = userland / 'tests/thread_handoff'
    native = subprocess.run([str(prog), '100'], capture_output=True, text=True, timeout=60)
    r = run_program(prog, '100')
    assert native.stdout.split()[:2] == r.text.split()[:2] == ['handoffs', '200']


def test_execve_from_a_thread_ends_the_other_threads(disk):
    r = run_on_disk(disk, '/tests/thread_more', 'exec')
    assert 'argv[1]=from-a-thread' in r.text and 'FAIL' not in r.text, r.text + '\n'.join(r.log)
    assert r.status == 0 and not r.kernel.deadlocked
    assert sorted(pid for pid in r.kernel.procs if pid not in r.kernel.daemons) == [1]   # the exec'ing thread took pid 1
