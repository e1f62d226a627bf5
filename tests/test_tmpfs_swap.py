"""tmpfs pages are anonymous memory: under pressure they go to swap like any other page,
mapped shared by several processes or not, and come back on read(), write() or a touch."""

from test_memory import run_small, passed


def test_a_tmp_file_larger_than_ram_goes_to_swap_and_reads_back(userland, tmp_path):
    r = run_small(userland, tmp_path, 'tests/tmp_swap', '20', mem=16 << 20)
    passed(r, 'tmp_swap')
    stats = r.kernel.vmstat
    assert stats['pswpout'] > 2000, dict(stats)
    swap = r.kernel.frames.swap
    assert swap.free_slots == swap.nslots - 1          # the unlinked file gave its slots back
    assert not r.kernel.reclaim.owners                 # and its frames


def test_shared_mappings_of_a_tmpfs_file_in_two_processes_survive_swapping(userland, tmp_path):
    r = run_small(userland, tmp_path, 'tests/tmp_swap_mmap', '20', mem=16 << 20)
    passed(r, 'tmp_swap_mmap')
    assert r.kernel.vmstat['pswpout'] > 500, dict(r.kernel.vmstat)
    swap = r.kernel.frames.swap
    assert swap.free_slots == swap.nslots - 1


def test_without_swap_a_tmp_file_stops_at_memory_with_enospc(userland, tmp_path):
    """No swap device: tmpfs pages stay (nowhere to put them) and the write that finds no
    frame is ENOSPC, not a kill."""
    r = run_small(userland, tmp_path, 'tests/tmp_swap', '20', mem=16 << 20, swap=False)
    assert 'bytes written: expected' in r.text, r.text
    assert r.kernel.vmstat['oom_kill'] == 0


def test_shared_anonymous_memory_is_a_memory_file_that_swaps_too(userland, tmp_path):
    r = run_small(userland, tmp_path, 'tests/tmp_swap_mmap', '20', 'anon', mem=16 << 20)
    passed(r, 'tmp_swap_mmap')
    assert r.kernel.vmstat['pswpout'] > 500, dict(r.kernel.vmstat)
    swap = r.kernel.frames.swap
    assert swap.free_slots == swap.nslots - 1
