"""Futex keys for shared mappings name the backing object and the page's place in it, not
the frame: a waiter on a tmpfs page that goes to swap and comes back still gets its wake."""

from test_memory import run_small, passed


def test_a_shared_futex_is_woken_after_its_page_went_to_swap_and_back(userland, tmp_path):
    r = run_small(userland, tmp_path, 'tests/futex_swap', '40', mem=16 << 20)
    passed(r, 'futex_swap')
    assert r.kernel.vmstat['pswpout'] > 1000, dict(r.kernel.vmstat)
