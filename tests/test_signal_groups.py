"""Signals in a thread group (issue 15): the process's shared queue of signals, a group
stop that holds threads blocked in calls too, and interval timers on CPU time."""

import pytest

from test_signals_more import passed


@pytest.mark.parametrize('program', [
    'sig_group_queue',   # kill() while all block it: the thread that unblocks it first takes it
    'sig_group_stop',    # a thread whose read() ends during a stop stays stopped until SIGCONT
    'sig_cputimers',     # ITIMER_VIRTUAL / ITIMER_PROF fire on CPU time, not while asleep
])
def test_guest_program(run, program):
    passed(run(f'tests/{program}'), program)
