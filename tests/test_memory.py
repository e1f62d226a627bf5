"""Memory pressure: swapping, reclaim through each replacement policy, copy-on-write under
swapping, the seed-004 dirty re-check, running out of memory."""

import pytest

from conftest import boot, GuestRun
from kernel.mm.policy import POLICIES


def run_small(userland, tmp_path, program, *args, mem=24 << 20, swap=True, policy='clock'):
    kernel, out, log = boot(mem=mem, swap=tmp_path / 'swap.img' if swap else None, policy=policy)
    path = userland / program
    p = kernel.spawn(path.read_bytes(), [str(path).encode()] + [a.encode() for a in args], [])
    kernel.run()
    return GuestRun(p.exit_status, bytes(out), log, kernel)


def passed(r, name):
    assert 'FAIL' not in r.text, r.text
    assert f'({name}) end' in r.text, r.text + '\n'.join(r.log)
    assert r.status == 0


def test_a_program_touches_twice_the_machines_memory(userland, tmp_path):
    r = run_small(userland, tmp_path, 'tests/memhog', '48')
    passed(r, 'memhog')
    stats = r.kernel.vmstat
    assert stats['pswpout'] > 5000 and stats['pswpin'] > 5000, dict(stats)
    assert r.kernel.frames.swap.free_slots == r.kernel.frames.swap.nslots - 1   # every slot back


@pytest.mark.parametrize('policy', sorted(POLICIES))
def test_every_policy_keeps_the_data_under_pressure(userland, tmp_path, policy):
    r = run_small(userland, tmp_path, 'tests/memhog', '36', policy=policy)
    passed(r, 'memhog')
    assert r.kernel.vmstat['pswpout'] > 0


def test_copy_on_write_pages_survive_swapping(userland, tmp_path):
    r = run_small(userland, tmp_path, 'tests/cow_swap', mem=16 << 20)
    passed(r, 'cow_swap')
    assert r.kernel.vmstat['pswpout'] > 0 and r.kernel.vmstat['pswpin'] > 0


def test_without_swap_the_largest_process_is_killed_with_a_report(userland, tmp_path):
    r = run_small(userland, tmp_path, 'tests/memhog', '48', swap=False)
    assert r.status & 0x7F == 9
    assert any('out of memory: killed pid 1 (memhog)' in line for line in r.log), r.log
    assert r.kernel.vmstat['oom_kill'] == 1


def test_a_page_written_during_its_page_out_stays_resident_and_dirty(userland, tmp_path):
    """Seed 004: the write-out starts with the page mapped; a write meanwhile sets the
    Dirty bit again, and at completion the page-out is treated as not done."""
    from kernel.mm.pagetable import D, P, SWAP
    kernel, out, log = boot(mem=24 << 20, swap=tmp_path / 'swap.img')
    prog = (userland / 'tests/memhog').read_bytes()
    p = kernel.spawn(prog, [b'memhog', b'1'], [])
    user = kernel.user(p)
    va = 0x7000_0000_0000 - 0x10_0000
    from kernel.mm.vm import Region, Kind, Prot
    p.aspace.add(Region(va, va + 4096, Prot.READ | Prot.WRITE, Kind.ANON))
    user.write(va, b'before')
    frame = p.aspace.pt.lookup(va) & 0x000F_FFFF_FFFF_F000
    reclaim = kernel.reclaim
    assert reclaim._evict(frame)                       # the page-out DMA is now in flight
    assert kernel.frames.pinned(frame)
    user.write(va, b'during')                          # the process writes meanwhile
    kernel.run_until(lambda: frame not in reclaim.inflight)
    pte = p.aspace.pt.lookup(va)
    assert pte & P and not pte & SWAP and pte & D      # still resident, still dirty
    assert user.read(va, 6) == b'during'
    assert kernel.vmstat['pageout_redirtied'] == 1
    assert not kernel.frames.pinned(frame)


def test_a_page_out_that_completes_leaves_a_swap_entry_and_comes_back(userland, tmp_path):
    from kernel.mm.pagetable import P, SWAP
    kernel, out, log = boot(mem=24 << 20, swap=tmp_path / 'swap.img')
    p = kernel.spawn((userland / 'tests/memhog').read_bytes(), [b'memhog', b'1'], [])
    user = kernel.user(p)
    va = 0x7000_0000_0000 - 0x10_0000
    from kernel.mm.vm import Region, Kind, Prot
    p.aspace.add(Region(va, va + 4096, Prot.READ | Prot.WRITE, Kind.ANON))
    user.write(va, b'keep me')
    frame = p.aspace.pt.lookup(va) & 0x000F_FFFF_FFFF_F000
    free_before = kernel.frames.free_count
    assert kernel.reclaim._evict(frame)
    kernel.run_until(lambda: frame not in kernel.reclaim.inflight)
    pte = p.aspace.pt.lookup(va)
    assert not pte & P and pte & SWAP
    assert kernel.frames.free_count == free_before + 1
    assert user.read(va, 7) == b'keep me'              # faulted back in from swap
    assert kernel.vmstat['pswpin'] == 1
