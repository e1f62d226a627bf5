"""--strace decoding: a golden transcript of a fixed program (userland/tests/strace_demo.c),
and the decoders one by one where the program cannot reach (bad pointers, odd values).

Addresses (six hex digits or more) are written 0x... in the golden file so that a change
of layout elsewhere does not break it; everything else must match exactly.  After a
deliberate change of decoding, regenerate it: UKERN_UPDATE_GOLDEN=1 pytest tests/test_strace_decode.py
"""

import io
import os
import re
from pathlib import Path

import pytest

from conftest import boot
from kernel.trace.decode import decode_args, format_call, format_result
from kernel.trace.strace import Strace, parse_trace_filter, known_call_names
from kernel.trace.options import process_list

GOLDEN = Path(__file__).parent / 'golden' / 'strace_demo.txt'
ADDRESS = re.compile(r'0x[0-9a-f]{6,}')


def strace_of(userland, name: str, argv0: bytes, **options) -> str:
    kernel, out, log = boot()
    text = io.StringIO()
    strace = Strace(kernel, text, **options)
    kernel.trace.subscribe(strace)
    kernel.spawn((userland / 'tests' / name).read_bytes(), [argv0], [b'HOME=/', b'TERM=dumb'])
    strace.show_first_exec()
    kernel.run()
    return text.getvalue()


def test_strace_of_a_fixed_program_matches_the_golden_transcript(userland):
    got = ADDRESS.sub('0x...', strace_of(userland, 'strace_demo', b'/tests/strace_demo'))
    if os.environ.get('UKERN_UPDATE_GOLDEN'):
        GOLDEN.write_text(got)
    assert got.splitlines() == GOLDEN.read_text().splitlines()


def test_the_golden_transcript_shows_what_strace_shows(userland):
    """What the golden file must hold, said in words (so a regenerated file is checked too)."""
    text = GOLDEN.read_text()
    for line in ['execve("/tests/strace_demo", ["/tests/strace_demo"], 0x... /* 2 vars */) = 0',
                 'open("/tmp/demo", O_WRONLY|O_CREAT|O_TRUNC|O_LARGEFILE|O_CLOEXEC, 0640) = 3',
                 'write(3, "tab\\there \\"quoted\\" and a newline\\n", 32) = 32',
                 'write(3, "a string longer than thirty-two "..., 45) = 45',
                 'write(3, "\\0\\1\\0027bytes", 9) = 9',
                 'open("/no/such/file", O_RDONLY|O_LARGEFILE) = -1 ENOENT (No such file or directory)',
                 'fstat(3, {st_mode=S_IFREG|0640, st_size=86, ...}) = 0',
                 'fcntl(3, F_GETFL) = 0x8800 (flags O_RDONLY|O_NONBLOCK|O_LARGEFILE)',
                 'stat("/dev/null", {st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x3), ...}) = 0',
                 'close(99) = -1 EBADF (Bad file descriptor)',
                 'mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x...',
                 'pipe2([3, 4], O_CLOEXEC) = 0',
                 'writev(4, [{iov_base="ab", iov_len=2}, {iov_base="cde", iov_len=3}], 2) = 5',
                 'poll([{fd=3, events=POLLIN}, {fd=4, events=POLLOUT}], 2, 0) = 2 '
                 '([{fd=3, revents=POLLIN}, {fd=4, revents=POLLOUT}])',
                 'readv(3, [{iov_base="ab", iov_len=2}, {iov_base="cde", iov_len=8}], 2) = 5',
                 'rt_sigprocmask(SIG_BLOCK, [INT QUIT], NULL, 8) = 0',
                 '--- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_USER, si_pid=1, si_uid=0} ---',
                 'rt_sigreturn({mask=[INT QUIT]}) = 0',
                 'nanosleep({tv_sec=0, tv_nsec=5000000}, NULL) = 0',
                 'wait4(2, [{WIFEXITED(s) && WEXITSTATUS(s) == 7}], 0, NULL) = 2',
                 '+++ exited with 0 +++']:
        assert line in text.splitlines(), line
    assert re.search(r'^rt_sigaction\(SIGUSR1, \{sa_handler=0x\.\.\., sa_mask=\[TERM\], '
                     r'sa_flags=SA_RESTORER\|SA_RESTART, sa_restorer=0x\.\.\.\}, NULL, 8\) = 0$', text, re.M)
    assert re.search(r'^prlimit64\(0, RLIMIT_NOFILE, NULL, \{rlim_cur=\d+, rlim_max=\d+\}\) = 0$', text, re.M)


def test_strace_filters_by_call_and_by_process(userland):
    calls, exclude = parse_trace_filter('trace=%file,close', known_call_names())
    text = strace_of(userland, 'strace_demo', b'/tests/strace_demo', calls=calls, exclude=exclude)
    names = {re.sub(r'^(\[pid \d+\] )?(\w+)\(.*', r'\2', line) for line in text.splitlines()
             if not line.startswith(('+++', '---', '[pid'))}
    assert names == {'execve', 'open', 'openat', 'close', 'stat', 'access', 'unlink'}, names
    calls, exclude = parse_trace_filter('trace=!write,rt_sigprocmask', known_call_names())
    text = strace_of(userland, 'strace_demo', b'/tests/strace_demo', calls=calls, exclude=exclude)
    assert 'write(' not in text.replace('writev(', '') and 'rt_sigprocmask' not in text and 'mmap(' in text
    # --strace=2: the child alone (its exit too); the parent's calls are not shown
    text = strace_of(userland, 'strace_demo', b'/tests/strace_demo', pids={2})
    assert text.splitlines()[-2:] == ['[pid 2] exit_group(7) = ?', '[pid 2] +++ exited with 7 +++']
    assert all(line.startswith('[pid 2]') for line in text.splitlines())


def test_filter_expressions_as_strace_takes_them():
    known = known_call_names()
    assert parse_trace_filter('trace=open,read', known) == ({'open', 'read'}, False)
    assert parse_trace_filter('open', known) == ({'open'}, False)
    assert parse_trace_filter('trace=!close', known) == ({'close'}, True)
    assert parse_trace_filter('trace=none', known) == (set(), False)
    assert parse_trace_filter('trace=all', known) == (set(), True)
    memory, _ = parse_trace_filter('trace=%memory', known)
    assert {'mmap', 'munmap', 'brk', 'mprotect'} <= memory and 'read' not in memory
    process, _ = parse_trace_filter('trace=%process', known)
    assert {'fork', 'clone', 'execve', 'wait4', 'exit_group'} <= process
    for bad in ('trace=opn', 'trace=%nothing', 'signal=all'):
        with pytest.raises(ValueError):
            parse_trace_filter(bad, known)
    assert process_list('3,5') == {3, 5} and process_list('all') == 'all'


def test_decoders_never_raise_and_show_a_bad_pointer_as_its_address(userland):
    kernel, _, _ = boot()
    p = kernel.spawn((userland / 'bin' / 'hello').read_bytes(), [b'hello'], [])
    bad = 0xdead0000
    for name, args in [('stat', [bad, bad]), ('rt_sigaction', [2, bad, bad, 8]), ('poll', [bad, 3, 0]),
                       ('writev', [1, bad, 2]), ('execve', [bad, bad, bad]), ('nanosleep', [bad, 0]),
                       ('futex', [bad, 0x80, 1, bad, 0, 0]), ('clone', [0x1200011, 0, bad, bad, 0]),
                       ('wait4', [-1 & (2**64 - 1), bad, 1, 0]), ('getdents64', [3, bad, 4096]),
                       ('statx', [2**64 - 100, bad, 0x100, 0xfff, bad]), ('ioctl', [1, 0x5413, bad])]:
        for result in (0, 5, -14):
            shown = decode_args(kernel, p.pid, name, args, result)
            assert hex(bad) in ', '.join(shown), (name, shown)
    assert decode_args(kernel, 99, 'write', [1, bad, 6], 6) == ['1', hex(bad), '6']   # no such process
    assert decode_args(kernel, p.pid, 'clone', [0x1200011, 0, 0, 0x1000, 0], 2) == [
        'child_stack=NULL', 'flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD', 'child_tidptr=0x1000']
    assert decode_args(kernel, p.pid, 'futex', [0x1000, 0x81, 1, 0, 0, 0], 0) == ['0x1000', 'FUTEX_WAKE_PRIVATE', '1']
    assert decode_args(kernel, p.pid, 'futex', [0x1000, 0x189, 2, 0, 0, 0xFFFF_FFFF], 0) == [
        '0x1000', 'FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME', '2', 'NULL', 'NULL', 'FUTEX_BITSET_MATCH_ANY']
    assert decode_args(kernel, p.pid, 'kill', [5, 9], 0) == ['5', 'SIGKILL']
    assert decode_args(kernel, p.pid, 'openat', [2**64 - 100, bad, 0o2000000, 0], -14) == [
        'AT_FDCWD', hex(bad), 'O_RDONLY|O_CLOEXEC']
    assert decode_args(kernel, p.pid, 'mmap', [0, 4096, 0, 0x22, 2**64 - 1, 0], -22)[2:4] == [
        'PROT_NONE', 'MAP_PRIVATE|MAP_ANONYMOUS']
    assert decode_args(kernel, p.pid, 'rt_sigprocmask', [7, 0, 0, 8], -22)[0] == '7'
    assert decode_args(kernel, p.pid, 'nosuchcall', [1, 2], 0) == ['0x1', '0x2']
    assert format_result('open', -2) == '-1 ENOENT (No such file or directory)'
    assert format_result('execve', None) == '0' and format_result('exit_group', None) == '?'
    assert format_call(kernel, p.pid, 'getpid', [], 1) == 'getpid() = 1'
