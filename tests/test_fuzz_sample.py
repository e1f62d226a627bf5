"""A short, seeded sample of each fuzzer (fuzz/), so that `make test` keeps them working and
catches the easy regressions; `make fuzz` runs them for longer and writes bench/FUZZ.md."""

import random

import pytest

from fuzz import ahci, disk, elf, syscalls
from fuzz.common import Tally


def sample(module, n: int, seed: int) -> Tally:
    tally = Tally(module.__name__)
    module.fuzz(tally, random.Random(seed), n, keep=False)
    assert tally.tried == n
    assert not tally.tracebacks and not tally.hangs, tally.tracebacks + tally.hangs
    return tally


def kinds(tally: Tally) -> set[str]:
    return {outcome.split(':')[0] for outcome in tally.outcomes}


def test_elf_sample_runs_some_files_and_refuses_others(userland):
    tally = sample(elf, 150, seed=21)
    assert {'ran', 'refused'} <= kinds(tally)
    assert len(tally.outcomes) >= 6


def test_disk_sample_mounts_some_images_and_refuses_others(userland):
    tally = sample(disk, 25, seed=21)
    assert {'mounted', 'refused at boot'} <= kinds(tally)


def test_syscall_sample_makes_many_different_calls(userland):
    tally = sample(syscalls, 60, seed=21)
    assert syscalls.coverage()['distinct call numbers made (unknown ones too)'] >= 60
    assert any('every call done' in o for o in tally.outcomes)
    assert any('4 of 4 workers' in o for o in tally.outcomes)      # several processes at once


def test_syscall_workers_are_processes_and_threads_that_all_report(userland):
    """The first process, a forked process and two threads each make their calls (getpid
    and gettid, yielding between calls) and report them: the forked worker has a pid of
    its own, the threads their own tids in the first process's group."""
    nr = {name: n for name, (n, _) in syscalls.call_table().items()}
    seq = [(nr['getpid'],), (nr['gettid'],)] * 3
    workers = [('forked', seq), ('thread', seq), ('thread', seq)]
    kernel_out = {}
    real_records = syscalls.records

    def keep(out):
        kernel_out['records'] = real_records(out)
        return kernel_out['records']
    syscalls.records = keep
    try:
        outcome = syscalls.run_script(seq, b'', workers)
    finally:
        syscalls.records = real_records
    assert outcome == 'exit 0, 4 of 4 workers, every call done, none failed', outcome
    got = kernel_out['records']
    own = got[0][len(syscalls.setup_calls()):]
    pid = own[0]
    assert got[1][0] != pid                          # a process of its own
    assert got[2][0] == got[3][0] == pid             # threads of the first process ...
    assert len({got[2][1], got[3][1], pid}) == 3     # ... each with its own tid


def test_results_are_checked_against_the_manual_pages_errors():
    nr = {name: n for name, (n, _) in syscalls.call_table().items()}
    assert syscalls.undocumented(nr['read'], -9) == []            # EBADF: in read(2)
    assert syscalls.undocumented(nr['read'], 5) == []
    assert syscalls.undocumented(nr['read'], -2) == ['read: ENOENT']   # not in read(2)
    assert syscalls.undocumented(nr['read'], -5000) != []          # neither value nor errno
    assert syscalls.undocumented(999, -2) == []                    # an unknown call: any errno


def test_ahci_sample_reaches_error_states():
    tally = sample(ahci, 200, seed=21)
    outcomes = ' '.join(tally.outcomes)
    assert 'TFES' in outcomes and 'HBFS' in outcomes


@pytest.mark.parametrize('value', [0, 1 << 63, (1 << 64) - 1])
def test_a_huge_segment_size_is_refused_in_one_line(userland, value):
    """The kinds of values the ELF fuzzer tries, on the first program header's p_memsz."""
    data = bytearray(elf.seeds()[0])
    phoff = elf.field_value(data, 32, 8)
    elf.set_field(data, phoff + elf.PHDR_FIELDS['p_memsz'][0], 8, value)
    outcome = elf.run_one(bytes(data))
    assert outcome.startswith(('refused', 'ran')), outcome
