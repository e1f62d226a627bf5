"""Calls left out on purpose, and small calls real programs use (issue: real programs run)."""

from test_programs import passed


def test_sockets_and_rseq_fail_with_enosys_without_a_warning(run):
    r = run('tests/absent_calls')
    passed(r, 'absent_calls')
    assert not any('not implemented' in line for line in r.log), r.log
