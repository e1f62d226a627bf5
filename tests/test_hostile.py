"""What guests did to the kernel from outside, each once a traceback or a hang: every case
here now ends in an answer a Linux program could get."""

import dataclasses

from conftest import boot, fsck, run_on_disk, GuestRun
from kernel.sys.table import SYSCALLS
from test_programs import passed

GETPPID = 110


def test_clocks_still_answer_after_a_sleep_to_the_end_of_time(run):
    passed(run('tests/time_far'), 'time_far')


def test_getcwd_gives_back_a_directory_name_that_is_not_utf8_on_tmpfs(run):
    passed(run('tests/cwd_bytes'), 'cwd_bytes')


def test_getcwd_gives_back_a_directory_name_that_is_not_utf8_on_ext2(disk):
    passed(run_on_disk(disk, '/tests/cwd_bytes', '/tests'), 'cwd_bytes')


def test_a_kernel_bug_kills_only_the_process_it_served_and_the_disk_is_written_back(disk, monkeypatch):
    # Make getppid a kernel bug: the program that calls it dies with a report naming the
    # bug; a second program carries on writing its file; shutdown writes the disk back.
    def broken_getppid(k, p) -> int:
        raise RuntimeError('an injected bug')
    monkeypatch.setitem(SYSCALLS, GETPPID, dataclasses.replace(SYSCALLS[GETPPID], handler=broken_getppid))
    kernel, out, log = boot(disk=disk)
    kernel.contain_bugs = True
    victim = kernel.spawn(kernel.read_guest_file(b'/tests/bench_getppid'), [b'bench_getppid'], [])
    writer = kernel.spawn(kernel.read_guest_file(b'/tests/fileio'), [b'fileio', b'/after-bug', b'1'], [])
    kernel.run()
    kernel.shutdown()
    assert victim.killed_by == 9
    assert kernel.bugs == [line for line in log if 'kernel bug' in line]
    assert len(kernel.bugs) == 1 and 'pid 1 (bench_getppid): RuntimeError: an injected bug' in kernel.bugs[0]
    passed(GuestRun(writer.exit_status, bytes(out), log, kernel), 'fileio')
    assert fsck(disk).returncode == 0


def test_map_populate_stops_when_memory_runs_out(userland, tmp_path):
    # 8 GiB asked of a 24 MiB machine with 48 MiB of swap: about 18,000 pages fit, and
    # populating the other two million must not be tried one by one.
    kernel, out, log = boot(mem=24 << 20, swap=tmp_path / 'swap.img')
    path = userland / 'tests/populate_huge'
    p = kernel.spawn(path.read_bytes(), [b'populate_huge'], [])
    kernel.run()
    passed(GuestRun(p.exit_status, bytes(out), log, kernel), 'populate_huge')
    assert kernel.vmstat['pgfault'] < 50_000, kernel.vmstat['pgfault']


def test_exec_of_a_program_file_of_4_gib_is_refused_without_reading_it(run):
    passed(run('tests/exec_huge'), 'exec_huge')
