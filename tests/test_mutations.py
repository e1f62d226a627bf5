"""The mutation list (fuzz/mutate.py, `make mutate`) stays in step with the kernel and the
tests: every mutation still applies, names tests that exist, and the mechanisms the seeds
are about each have one; and one quick mutation, run here, is caught (the whole list is
`make mutate`'s job, bench/MUTATIONS.md its report)."""

import re

import pytest

from fuzz.mutate import MUTATIONS, BY_NAME, ROOT, run, stale

MECHANISMS = ('A bits', 'COW break skipped', 'COW break copies wrong', 'pinning during DMA',
              'Dirty re-check', 'per-page blocking')


@pytest.mark.parametrize('m', MUTATIONS, ids=lambda m: m.name)
def test_each_mutation_still_applies_and_names_existing_tests(m):
    assert stale(m) == ''
    for node in m.tests:
        path, _, name = node.partition('::')
        function = re.sub(r'\[.*\]$', '', name)
        assert re.search(rf'^def {re.escape(function)}\(', (ROOT / path).read_text(), re.M), node


def test_every_mechanism_the_seeds_are_about_has_a_mutation():
    described = ' / '.join(m.mechanism for m in MUTATIONS)
    for mechanism in MECHANISMS:
        assert mechanism in described, mechanism


def test_the_mutations_report_lists_every_mutation():
    report = (ROOT / 'bench' / 'MUTATIONS.md').read_text()
    for m in MUTATIONS:
        assert re.search(rf'^\| {re.escape(m.name)} \|.*\| yes \|', report, re.M), m.name


def test_a_dirty_recheck_skipped_is_caught():
    """The quickest of the list: the page-out's Dirty re-check removed."""
    assert run(BY_NAME['no-dirty-recheck']).caught == 'yes'
