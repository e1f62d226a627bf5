"""Grading tests of the system-call lab (labs/syscall/README.md)."""

import re

from gradelib import test, expect, expect_true, passed, run, run_disk


def kernel_lines(r):
    return [l for l in r.text.splitlines() if re.match(r'^\d+: syscall ', l)]


@test('syscall: sysinfo reports frames and processes (tests/syscall_sysinfo)', points=30)
def _():
    passed(run('tests/syscall_sysinfo'), 'syscall_sysinfo')


@test('syscall: trace prints the traced calls (tests/syscall_trace)', points=20)
def _():
    r = run('tests/syscall_trace')
    passed(r, 'syscall_trace')
    lines = kernel_lines(r)
    expect('first traced lines', ['1: syscall getpid -> 1', '1: syscall fork -> 2'], lines[:2], r)


@test('syscall: the mask is inherited by fork\'s child', points=15)
def _():
    r = run('tests/syscall_trace')
    expect_true('the child\'s getpid is traced', '2: syscall getpid -> 2' in kernel_lines(r),
                '"2: syscall getpid -> 2"', kernel_lines(r), r)


@test('syscall: only the masked calls are traced, and trace(0) stops it', points=15)
def _():
    r = run('tests/syscall_trace')
    expect('kernel trace lines', ['1: syscall getpid -> 1', '1: syscall fork -> 2',
                                  '2: syscall getpid -> 2'], kernel_lines(r), r)
    after = r.text.split('untraced from here', 1)[-1]
    expect('trace lines after trace(0)', [], re.findall(r'\d+: syscall .*', after), r)


@test('syscall: /bin/trace 1048576 /bin/sysinfo from the disk', points=20)
def _():
    r = run_disk('/bin/trace', str(1 << 20), '/bin/sysinfo')     # 20: writev (musl's stdio)
    expect('exit status', 0, r.status, r)
    # the program, and the object server the kernel starts when it boots from a disk
    expect_true('the processes line', 'processes: 2' in r.text, '"processes: 2"', r.text, r)
    lines = kernel_lines(r)
    expect_true('traced writev calls', lines and all(re.match(r'^1: syscall writev -> \d+$', l)
                                                    for l in lines),
                '"1: syscall writev -> N" lines only', lines, r)
