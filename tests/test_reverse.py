"""Reverse debugging (issue 18): real gdb, in batch mode, steps and continues backwards
through userland/bin/rewind.c under `ukern run --gdb`, and watches a variable change."""

import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
needs_gdb = pytest.mark.skipif(not shutil.which('gdb'), reason='gdb is not installed (.ci/run installs it)')


def debug(program: Path, *commands: str, snapshot_every: int | None = None):
    """ukern run --gdb 0 PROGRAM, and gdb -batch with these commands against it.
    Returns (gdb's text, ukern's status, ukern's stdout, ukern's stderr)."""
    extra = ['--snapshot-every', str(snapshot_every)] if snapshot_every is not None else []
    ukern = subprocess.Popen([sys.executable, '-m', 'kernel', 'run', '--gdb', '0', *extra, str(program)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    line = ukern.stderr.readline().decode()
    port = re.search(r'127\.0\.0\.1:(\d+)', line)
    assert port, line
    cmd = ['gdb', '-batch', '-nx', '-ex', 'set confirm off',
           '-ex', f'target remote 127.0.0.1:{port.group(1)}']
    for c in commands:
        cmd += ['-ex', c]
    text = subprocess.run(cmd + [str(program)], capture_output=True, text=True, timeout=120)
    out, err = ukern.communicate(timeout=60)
    return text.stdout + text.stderr, ukern.returncode, out.decode(), err.decode()


def line_of(text: str, source: str) -> int:
    """The line number of a line of rewind.c."""
    lines = (ROOT / 'userland' / 'bin' / 'rewind.c').read_text().splitlines()
    return next(i + 1 for i, s in enumerate(lines) if s.strip() == source)


def shown_lines(text: str) -> list[int]:
    """The source lines gdb printed as it stopped, in order."""
    return [int(m) for m in re.findall(r'^(\d+)\t', text, re.M)]


@needs_gdb
def test_step_forward_three_lines_and_back(userland):
    text, status, out, err = debug(
        userland / 'bin' / 'rewind', 'break bump', 'continue', 'next', 'next', 'next',
        'reverse-step', 'print counter', 'reverse-step', 'print counter', 'delete', 'continue')
    first = line_of(text, 'int before = counter;')
    assert shown_lines(text)[:6] == [first, first + 1, first + 2, first + 3, first + 2, first + 1], text
    values = re.findall(r'^\$\d+ = (\d+)$', text, re.M)
    assert values == ['1', '0'], text               # after the write, then before it
    assert 'exited normally' in text, text
    assert status == 0 and 'rewind: counter = 10, sum = 10' in out, err


@needs_gdb
def test_reverse_continue_stops_at_the_earlier_breakpoint(userland):
    text, status, out, err = debug(
        userland / 'bin' / 'rewind', 'break bump', 'continue', 'continue', 'continue',
        'reverse-continue', 'print counter', 'reverse-continue', 'print counter',
        'reverse-continue', 'delete', 'continue')
    calls = re.findall(r'Breakpoint 1, bump \(by=(?:by@entry=)?(\d)\)', text)
    assert calls == ['1', '2', '3', '2', '1'], text
    assert re.findall(r'^\$\d+ = (\d+)$', text, re.M) == ['1', '0'], text
    assert 'No more reverse-execution history' in text, text     # back at the first stop
    assert 'exited normally' in text and status == 0, text


@needs_gdb
def test_a_hardware_watchpoint_fires_forward_and_backward(userland):
    text, status, out, err = debug(
        userland / 'bin' / 'rewind', 'break main', 'continue', 'watch counter', 'continue',
        'continue', 'reverse-continue', 'print $pc', 'continue', 'print $pc', 'delete', 'continue',
        snapshot_every=5000)
    assert 'Hardware watchpoint 2: counter' in text, text
    changes = re.findall(r'Old value = (\d+)\s+New value = (\d+)', text)
    assert changes == [('0', '1'), ('1', '3'), ('3', '1'), ('1', '3')], text
    pcs = re.findall(r'^\$\d+ = .* (0x[0-9a-f]+) <bump\+(\d+)>', text, re.M)
    assert len(pcs) == 2 and int(pcs[0][1]) < int(pcs[1][1]), text   # before the write, after it
    assert 'exited normally' in text and status == 0, text


def test_a_gdb_port_in_use_is_one_line(userland):
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        s.listen(1)
        port = s.getsockname()[1]
        r = subprocess.run([sys.executable, '-m', 'kernel', 'run', '--gdb', str(port),
                            str(userland / 'bin' / 'hello')], capture_output=True, text=True,
                           timeout=60, cwd=ROOT)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        f'ukern: --gdb {port}: cannot listen on 127.0.0.1:{port}: Address already in use'], r.stderr


@needs_gdb
def test_threads_meet_the_same_milestones_backwards_and_forwards_again(userland):
    """Two threads preempted by the scheduler: stopping at breakpoints must not change
    their interleaving, so going back and forth meets the same stops in the same order."""
    steps = ['continue'] * 5 + ['reverse-continue'] * 3 + ['continue'] * 3
    commands = ['break milestone', 'info threads']
    for step in steps:
        commands += [step, 'print last']
    text, status, out, err = debug(userland / 'bin' / 'gdbrace', *commands, 'delete', 'continue',
                                   snapshot_every=1_000_000)
    seen = re.findall(r'^\$\d+ = (\d+)$', text, re.M)
    forward = seen[:5]
    assert len(set(forward)) == 5, text                        # five different stops
    assert seen[5:8] == forward[3::-1][:3], text               # the 4th, 3rd and 2nd again
    assert seen[8:] == forward[2:], text                       # and forward: the 3rd to the 5th
    assert 'Switching to Thread 3' in text and 'Switching to Thread 2' in text, text
    assert status == 0 and 'gdbrace: 8 milestones' in out, err


@needs_gdb
def test_info_threads_and_thread_n(userland):
    text, status, out, err = debug(userland / 'bin' / 'gdbthreads', 'break work', 'continue',
                                   'info threads', 'thread 1', 'bt', 'thread 2', 'print id',
                                   'delete', 'continue')
    assert re.search(r'^\*? +2 +Thread 2 \(gdbthreads runnable\) +work \(id=0\)', text, re.M), text
    assert re.search(r'^ +1 +Thread 1 \(gdbthreads blocked\)', text, re.M), text
    assert re.search(r'#\d+ +0x[0-9a-f]+ in main \(\) at .*gdbthreads\.c', text), text   # thread 1 waits in join
    assert re.search(r'^\$1 = 0$', text, re.M), text
    assert status == 0 and 'gdbthreads: 10 11' in out, err


def test_gdbwait_waits_for_the_stub_and_gives_up_when_ukern_ends(userland):
    """`make gdb` starts gdb once the stub listens (kernel/trace/gdbwait.py), never before,
    and stops waiting when the ukern that was to listen has ended."""
    from kernel.trace import gdbwait
    ukern = subprocess.Popen([sys.executable, '-m', 'kernel', 'run', '--gdb', '0',
                              str(userland / 'bin' / 'hello')],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    port = int(re.search(r'127\.0\.0\.1:(\d+)', ukern.stderr.readline().decode()).group(1))
    assert gdbwait.main([str(port), str(ukern.pid)]) == 0
    with socket.socket() as s:                        # someone else listening is not the stub
        s.bind(('127.0.0.1', 0))
        s.listen(1)
        assert not gdbwait.listening(s.getsockname()[1], ukern.pid)
    ukern.kill()
    ukern.wait(timeout=30)
    assert gdbwait.main([str(port), str(ukern.pid)]) == 1


@needs_gdb
def test_a_replayed_session_under_gdb_goes_back_and_forth(userland, tmp_path):
    """Record a program reading lines that arrive one by one, then debug the replay: the
    input comes from the recording, so reverse execution meets the same lines."""
    import time
    recording = tmp_path / 'input.rec'
    p = subprocess.Popen([sys.executable, '-m', 'kernel', 'run', '--record', str(recording),
                          str(userland / 'bin' / 'gdbinput')],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    for line in (b'a b\n', b'c d e\n', b'f\n'):
        p.stdin.write(line)
        p.stdin.flush()
        time.sleep(0.3)
    p.stdin.close()
    p.stdin = None                                    # (communicate would flush it)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0 and out == b'gdbinput: 6 words\n', err
    ukern = subprocess.Popen([sys.executable, '-m', 'kernel', 'replay', '--gdb', '0', str(recording)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
                             stdin=subprocess.DEVNULL)
    port = re.search(r'127\.0\.0\.1:(\d+)', ukern.stderr.readline().decode()).group(1)
    commands = ['break count_line', 'continue', 'print words', 'continue', 'print words',
                'continue', 'print words', 'reverse-continue', 'print words', 'continue',
                'print words', 'delete', 'continue']
    cmd = ['gdb', '-batch', '-nx', '-ex', 'set confirm off', '-ex', f'target remote 127.0.0.1:{port}']
    for c in commands:
        cmd += ['-ex', c]
    text = subprocess.run(cmd + [str(userland / 'bin' / 'gdbinput')], capture_output=True,
                          text=True, timeout=120)
    text = text.stdout + text.stderr
    out, err = ukern.communicate(timeout=60)
    assert re.findall(r'^\$\d+ = (\d+)$', text, re.M) == ['0', '2', '5', '2', '5'], text
    assert 'exited normally' in text, text
    assert ukern.returncode == 0 and out == b'gdbinput: 6 words\n', err
