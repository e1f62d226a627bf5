"""What guests did to the kernel from outside, each once a traceback or a hang: every case
here now ends in an answer a Linux program could get."""

from test_programs import passed


def test_clocks_still_answer_after_a_sleep_to_the_end_of_time(run):
    passed(run('tests/time_far'), 'time_far')
