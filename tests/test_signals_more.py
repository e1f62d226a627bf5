"""Signals as Linux programs use them (issue 15): the x87/SSE state at start and across
handlers, the alternate signal stack, waiting for signals, restarting interrupted calls,
sleeps that report the time left, and interval timers on the virtual clock.  One guest
program per behaviour (userland/tests/fpu_*.c, sig_*.c)."""

import pytest

from conftest import run_on_disk


def passed(r, name):
    assert 'FAIL' not in r.text, r.text
    assert f'({name}) begin' in r.text and f'({name}) end' in r.text, r.text + '\n'.join(r.log)
    assert r.status == 0, r.text


@pytest.mark.parametrize('program', [
    'fpu_init',          # cw 0x37F, empty tags, MXCSR 0x1F80 for the first process and after execve
    'fpu_signal',        # handlers do not disturb the interrupted maths; frame's xmm edits apply
    'sig_altstack',      # SA_ONSTACK runs on the alternate stack; flags, errors, fork and execve
    'sig_suspend',       # rt_sigsuspend waits with a temporary mask, EINTR, old mask back
    'sig_pending',       # rt_sigpending; rt_sigprocmask's how and sigsetsize checks
    'sig_timedwait',     # rt_sigtimedwait: timeout (EAGAIN), pending, arriving, blocked SIGCHLD
    'sig_restart',       # SA_RESTART restarts read on a pipe and waitpid
    'sig_eintr',         # no SA_RESTART: EINTR; partial pipe write; nanosleep never restarted
    'sig_nanosleep',     # rem after an interrupted sleep; a stopped sleep carries on
    'sig_alarm',         # alarm and setitimer at the right virtual time, interval re-arming
])
def test_guest_program(disk, program):
    passed(run_on_disk(disk, f'/tests/{program}'), program)



def test_strace_shows_an_interrupted_call_as_strace_does(userland):
    """The call's restart code, then what the program got: EINTR (no SA_RESTART)."""
    import io
    from conftest import boot
    from kernel.trace.strace import Strace
    kernel, out, log = boot()
    text = io.StringIO()
    kernel.trace.subscribe(Strace(kernel, text))
    path = userland / 'tests' / 'sig_eintr'
    kernel.spawn(path.read_bytes(), [str(path).encode()], [])
    kernel.run()
    lines = text.getvalue().splitlines()
    assert any(line.startswith('read(3, ') and line.endswith(
        '= ? ERESTARTSYS (To be restarted if SA_RESTART is set)') for line in lines), lines
    assert any(line.startswith('nanosleep(') and line.endswith(
        '= ? ERESTART_RESTARTBLOCK (Interrupted by signal)') for line in lines), lines
    assert b'(sig_eintr) end' in out
