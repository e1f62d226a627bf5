"""Waiting on several files (poll, select, epoll, eventfd), O_NONBLOCK, FIONREAD, and
standard input from a pipe passing the console raw."""

import subprocess
import sys

from conftest import ROOT, boot, run_on_disk
from test_programs import passed


def test_poll_on_a_pipe_waits_for_a_write_and_sees_hangup(run):
    passed(run('tests/poll_pipe'), 'poll_pipe')


def test_poll_select_ppoll_timeouts_are_virtual_time(run):
    passed(run('tests/poll_timeout'), 'poll_timeout')


def test_poll_on_the_console_sees_input_from_the_host(run):
    passed(run('tests/poll_console', stdin=b'hello\n'), 'poll_console')


def test_select_on_several_pipes(run):
    passed(run('tests/select_pipes'), 'select_pipes')


def test_ppoll_and_pselect_wait_under_the_mask_given(run):
    passed(run('tests/poll_sigmask'), 'poll_sigmask')


def test_a_signal_interrupts_poll_select_and_epoll_wait(run):
    passed(run('tests/poll_eintr'), 'poll_eintr')


def test_epoll_level_edge_and_oneshot(run):
    passed(run('tests/epoll_trigger'), 'epoll_trigger')


def test_epoll_ctl_and_wait_errors(disk):
    passed(run_on_disk(disk, '/tests/epoll_errors'), 'epoll_errors')


def test_eventfd_counter_semaphore_and_epoll(run):
    passed(run('tests/eventfd_basic'), 'eventfd_basic')


def test_nonblocking_pipe_and_fionread(run):
    passed(run('tests/nonblock_pipe'), 'nonblock_pipe')


def test_nonblocking_console_read_of_piped_input(run):
    passed(run('tests/nonblock_console', 'piped', stdin=b'abc'), 'nonblock_console')


def test_nonblocking_console_read_before_a_line_is_typed(userland):
    """A scripted session (as `ukern boot --input`): EAGAIN, then poll waits for the line."""
    from kernel.cli import TYPING_DELAY_NS, TYPING_PATIENCE_NS
    kernel, out, _ = boot(tty=True)
    path = userland / 'tests' / 'nonblock_console'
    p = kernel.spawn(path.read_bytes(), [str(path).encode(), b'typed'], [])
    kernel.machine.console.type_script(kernel.clock, b'abc\n', TYPING_DELAY_NS, TYPING_PATIENCE_NS)
    kernel.run()
    text = out.decode(errors='replace').replace('\r\n', '\n')
    assert 'FAIL' not in text and '(nonblock_console) end' in text, text
    assert p.exit_status == 0, text


def test_piped_stdin_reaches_the_program_unedited(userland):
    """`printf ... | ukern run rawcat`: ^C, DEL, ^U, CR and ^D are data, not keys."""
    data = b'one\x03two\x7fthree\x15four\rfive\x04six\x1c\x1a\n\x00\xff'
    r = subprocess.run([sys.executable, '-m', 'kernel', 'run', str(userland / 'tests' / 'rawcat')],
                       input=data, capture_output=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == data


def test_stdin_given_to_a_run_is_raw(run):
    data = b'a\rb\x03c\x7f\n'
    r = run('tests/rawcat', stdin=data)
    assert r.status == 0 and r.output == data


def test_files_that_never_wait_are_always_ready(disk):
    passed(run_on_disk(disk, '/tests/poll_files'), 'poll_files')
