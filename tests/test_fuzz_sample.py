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
