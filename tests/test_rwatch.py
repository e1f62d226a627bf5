"""Read and access watchpoints (issue 18): real gdb, in batch mode, sets `rwatch` and `awatch`
on a variable of userland/tests/watchreads.c under `ukern run --gdb`; the stub hides the
variable's page and single-steps the instructions that touch it (kernel/trace/gdbwatch.py)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / 'userland' / 'tests' / 'watchreads.c'
needs_gdb = pytest.mark.skipif(not shutil.which('gdb'), reason='gdb is not installed (.ci/run installs it)')


def debug(program: Path, *commands: str, ukern_args: tuple[str, ...] = ()):
    """ukern run --gdb 0 [ukern_args] PROGRAM, and gdb -batch with these commands against
    it.  Returns (gdb's text, ukern's status, ukern's stdout, ukern's stderr)."""
    ukern = subprocess.Popen([sys.executable, '-m', 'kernel', 'run', '--gdb', '0', *ukern_args, str(program)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    port = re.search(r'127\.0\.0\.1:(\d+)', ukern.stderr.readline().decode())
    assert port
    cmd = ['gdb', '-batch', '-nx', '-ex', 'set confirm off', '-ex', f'target remote 127.0.0.1:{port.group(1)}']
    for c in commands:
        cmd += ['-ex', c]
    text = subprocess.run(cmd + [str(program)], capture_output=True, text=True, timeout=120)
    out, err = ukern.communicate(timeout=60)
    return text.stdout + text.stderr, ukern.returncode, out.decode(), err.decode()


def line(comment: str) -> int:
    """The number of the line of watchreads.c that ends with this comment."""
    lines = SOURCE.read_text().splitlines()
    return next(i + 1 for i, s in enumerate(lines) if s.rstrip().endswith(f'/* {comment} */'))


def stops(text: str) -> list[tuple[str, int]]:
    """Each watchpoint stop: (what gdb showed of the value, the source line it stopped in)."""
    found = re.findall(r'watchpoint \d+: watched\n\n((?:Value = \d+)|(?:Old value = \d+\nNew value = \d+))\n'
                       r'.*?\n(\d+)\t', text)
    return [(' '.join(v.split()), int(n)) for v, n in found]


def plain_run(program: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-m', 'kernel', 'run', '--stats', '--faults', str(program)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


@needs_gdb
def test_rwatch_stops_after_each_read_and_nothing_else(userland):
    program = userland / 'tests' / 'watchreads'
    text, status, out, err = debug(program, 'break main', 'continue',
                                   'print ((long)&watched >> 12) == ((long)&neighbour >> 12)',
                                   'rwatch watched', 'continue', 'continue', 'continue', 'continue',
                                   'continue', ukern_args=('--stats', '--faults'))
    assert re.search(r'^\$1 = 1$', text, re.M), text          # the neighbour shares the page
    assert 'Hardware read watchpoint 2: watched' in text, text
    # not the neighbour's accesses, not the write, not the kernel's read() into it
    assert stops(text) == [('Value = 5', line('read 1')), ('Value = 5', line('read 2')),
                           ('Value = 6', line('read 3')), ('Value = 42', line('read 4'))], text
    assert 'exited normally' in text and status == 0, text
    # the page faults the stub took reached neither the program nor the kernel's counters
    alone = plain_run(program)
    assert out == alone.stdout and '(watchreads) end' in out, err
    counters = lambda text: re.findall(r'^ +(pg\w*fault) +(\d+)$', text, re.M)   # noqa: E731
    assert counters(err) == counters(alone.stderr) and counters(err), err
    kinds = lambda text: re.findall(r'^(page faults: .*)$|^ +(\d+)  ([a-z-]+)$', text, re.M)  # noqa: E731
    assert kinds(err) == kinds(alone.stderr) and kinds(err), err               # (--faults)


@needs_gdb
def test_awatch_stops_on_reads_and_writes(userland):
    text, status, out, err = debug(userland / 'tests' / 'watchreads', 'break main', 'continue',
                                   'awatch watched', *['continue'] * 6)
    assert 'Hardware access (read/write) watchpoint 2: watched' in text, text
    # the write stops at the end of its line (on the next one): x86 traps after the access
    assert stops(text) == [('Value = 5', line('read 1')), ('Value = 5', line('read 2')),
                           ('Old value = 5 New value = 6', line('read 3')),
                           ('Value = 6', line('read 3')),
                           ('Old value = 6 New value = 42', line('read 4'))], text
    assert 'exited normally' in text and status == 0, text


@needs_gdb
def test_reverse_continue_with_rwatch_stops_at_the_previous_read(userland):
    text, status, out, err = debug(userland / 'tests' / 'watchreads', 'break main', 'continue',
                                   'rwatch watched', 'continue', 'continue', 'continue',
                                   'reverse-continue', 'print $pc', 'reverse-continue', 'print $pc',
                                   'continue', 'print $pc', 'delete', 'continue',
                                   ukern_args=('--snapshot-every', '5000'))
    # forward: after reads 1, 2, 3; backward: before reads 3 and 2 (as a write watchpoint
    # going back stops before the write it last reported); forward again: after read 2
    assert stops(text) == [('Value = 5', line('read 1')), ('Value = 5', line('read 2')),
                           ('Value = 6', line('read 3')), ('Value = 6', line('read 3')),
                           ('Value = 5', line('read 2')), ('Value = 5', line('read 2'))], text
    pcs = [int(pc, 16) for pc in re.findall(r'^\$\d+ = .* (0x[0-9a-f]+) <main\+\d+>', text, re.M)]
    after_reads = [int(pc, 16) for pc in re.findall(r'^(0x[0-9a-f]+) in main \(\)', text, re.M)]
    assert len(pcs) == 3 and len(after_reads) == 4, text
    assert after_reads[1] < pcs[0] < after_reads[2] and pcs[1] < after_reads[1] and pcs[2] == after_reads[1], text
    assert 'exited normally' in text and status == 0, text
    assert out.endswith('(watchreads) end\n'), err


@needs_gdb
def test_deleting_the_rwatch_midway_lets_the_program_finish(userland):
    program = userland / 'tests' / 'watchreads'
    text, status, out, err = debug(program, 'break main', 'continue', 'rwatch watched', 'continue',
                                   'delete 2', 'continue')
    assert stops(text) == [('Value = 5', line('read 1'))], text
    assert 'exited normally' in text and status == 0, text
    assert out == plain_run(program).stdout, err


@needs_gdb
def test_a_write_watchpoint_sees_the_kernel_write_after_the_system_call(userland):
    """read() into a watched variable: as gdb on Linux, the stop comes once the system
    call has returned, right after the `syscall` instruction."""
    text, status, out, err = debug(userland / 'tests' / 'watchreads', 'break main', 'continue',
                                   'watch watched', 'continue', 'continue', 'x/2xb $pc-2', 'continue')
    changes = re.findall(r'Old value = (\d+)\s+New value = (\d+)', text)
    assert changes == [('5', '6'), ('6', '42')], text
    assert re.search(r':\s+0x0f\s+0x05$', text, re.M), text         # after `syscall`
    assert 'exited normally' in text and status == 0, text


@needs_gdb
def test_a_write_watchpoint_and_a_read_watchpoint_in_one_page(userland):
    """`watch watched` compares the value before every instruction; `rwatch neighbour` hides
    the page they share.  Neither may disturb the other: the write watchpoint still sees the
    program's write and the kernel's, and the read watchpoint sees only its variable."""
    text, status, out, err = debug(userland / 'tests' / 'watchreads', 'break main', 'continue',
                                   'watch watched', 'rwatch neighbour', *['continue'] * 5)
    reports = re.findall(r'^Hardware (read )?watchpoint \d+: (\w+)\n\n(Value = \d+|Old value = \d+\nNew value = \d+)',
                         text, re.M)
    assert [(bool(r), name, ' '.join(v.split())) for r, name, v in reports] == [
        (True, 'neighbour', 'Value = 7'), (False, 'watched', 'Old value = 5 New value = 6'),
        (False, 'watched', 'Old value = 6 New value = 42'), (True, 'neighbour', 'Value = 16')], text
    assert re.search(r'watchreads\.c:%d\n' % line("a neighbour's read"), text), text
    assert 'exited normally' in text and status == 0, text


@needs_gdb
def test_rwatch_in_two_threads_back_and_forth(userland):
    """The page of `events` is hidden in whichever thread runs; the stops the hidden page
    makes do not change the threads' interleaving, so going back meets the same reads."""
    steps = ['continue'] * 4 + ['reverse-continue'] * 2 + ['continue'] * 2
    commands = ['break main', 'continue', 'rwatch events']
    for step in steps:
        commands += [step, 'print last']
    text, status, out, err = debug(userland / 'bin' / 'gdbrace', *commands, 'delete', 'continue',
                                   ukern_args=('--snapshot-every', '1000000'))
    reads = re.findall(r'^Thread (\d) hit Hardware read watchpoint 2: events\n\nValue = (\d+)', text, re.M)
    lasts = re.findall(r'^\$\d+ = (\d+)$', text, re.M)
    forward = list(zip(reads[:4], lasts[:4]))
    assert [v for (_, v), _ in forward] == ['1', '2', '3', '4'], text     # (events += 1 reads it)
    assert {t for (t, _), _ in forward} == {'2', '3'}, text
    # back: before the last two reads (events one less); forward again: after them
    assert [(t, int(v) + 1) for t, v in reads[4:6]] == [(t, int(v)) for t, v in reads[3:1:-1]], text
    assert lasts[4:6] == lasts[3:1:-1] and list(zip(reads[6:], lasts[6:])) == forward[2:], text
    assert status == 0 and 'gdbrace: 8 milestones' in out, err


def test_the_access_size_comes_from_the_instruction():
    from kernel.trace.gdbwatch import access_size
    assert access_size(bytes.fromhex('8b0d06420000'), 0x1000) == 4          # mov ecx, [rip+...]
    assert access_size(bytes.fromhex('48891d00000000'), 0x1000) == 8        # mov [rip+...], rbx
    assert access_size(b'\x0f\xff', 0x1000) == 1                             # undecodable: CR2 alone


def test_only_user_ranges_can_be_watched_by_access():
    from kernel.mm.pagetable import USER_TOP
    from kernel.trace.gdbwatch import AccessWatches, Kind, MAX_ACCESS_WATCHES
    w = AccessWatches(kernel=None)
    assert not w.add(Kind.READ, USER_TOP - 2, 4)          # would reach past user space
    assert not w.add(Kind.READ, 0x1000, 0)
    assert all(w.add(Kind.ACCESS, 0x1000 * i, 4) for i in range(1, MAX_ACCESS_WATCHES + 1))
    assert not w.add(Kind.READ, 0x9000, 4)                # as many as x86's debug registers
    assert w.add(Kind.ACCESS, 0x1000, 4)                  # (the same again is no new one)
