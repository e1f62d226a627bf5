"""Memory pressure: swapping, reclaim through each replacement policy, copy-on-write under
swapping, the seed-004 dirty re-check, running out of memory."""

import pytest

from conftest import boot, GuestRun, run_on_disk
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


def test_a_process_killed_when_swap_is_full_is_torn_down_once(userland, tmp_path):
    # 24 MiB of RAM and 48 MiB of swap cannot hold 20,000 pages (78 MiB): the toucher is
    # killed.  Tearing it down must not run the OOM killer on the dying process a second
    # time (a fault during its exit would ask for memory).
    r = run_small(userland, tmp_path, 'tests/fault_loop', '20000')
    assert r.status & 0x7F == 9
    reports = [line for line in r.log if 'out of memory' in line]
    assert reports == ['ukern: out of memory: killed pid 1 (fault_loop), the largest process'], r.log


def test_a_group_the_oom_killer_ends_leaves_its_clear_child_tid_word_alone(userland, tmp_path):
    # 8 MiB of RAM and 16 MiB of swap cannot hold the parent's 12 MiB and both children's
    # copies: the children are killed while the page of their clear_child_tid word is
    # swapped out.  Writing it would wait for a frame there is none of; as in Linux, a
    # group that dies whole does not write it (no one else shares its memory), and the run
    # ends with no kernel error.
    r = run_small(userland, tmp_path, 'tests/cow_swap', mem=8 << 20)
    kills = [line for line in r.log if 'out of memory' in line]
    assert kills[:2] == ['ukern: out of memory: killed pid 3 (cow_swap), the largest process',
                         'ukern: out of memory: killed pid 2 (cow_swap), the largest process'], r.log
    assert not any('kernel bug' in line for line in r.log), r.log


def test_the_parent_of_children_the_oom_killer_ends_runs_on_with_its_memory(userland, tmp_path):
    # 8 MiB of RAM and 16 MiB of swap cannot hold the parent's 12 MiB and both children's
    # copies.  The kill frees the victim's frames at once, inside the faulting process's
    # own call for memory: it must try again then, not wait for a wake-up that has already
    # happened (every process blocked, a deadlock), and the parent must find its data.
    r = run_small(userland, tmp_path, 'tests/oom_children', mem=8 << 20)
    passed(r, 'oom_children')
    assert r.kernel.vmstat['oom_kill'] >= 1
    assert '(oom_children) children killed for memory: 0' not in r.text


def test_changed_data_read_back_from_swap_is_not_dropped_as_a_clean_file_page(userland, tmp_path):
    # A page of .data is written, swapped out, read back in (no write) and evicted again:
    # its content is no longer the program image's, so the second eviction must swap it.
    r = run_small(userland, tmp_path, 'tests/data_swap', '32', mem=16 << 20)
    passed(r, 'data_swap')
    assert r.kernel.vmstat['pswpin'] > 0


def test_a_page_whose_page_out_failed_keeps_its_dirty_bits(userland, tmp_path):
    # Slots 1-16 of the swap disk are unreadable media: page-outs to them fail.  The page
    # stays resident, and the Dirty bits cleared for the write come back, or a page of
    # changed .data would next be dropped as clean and read from the image again.
    kernel, out, log = boot(mem=16 << 20, swap=tmp_path / 'swap.img')
    kernel.machine.ahci.ports[1].disk.bad_ranges.append((8, 16 * 8))
    path = userland / 'tests/data_swap'
    p = kernel.spawn(path.read_bytes(), [str(path).encode(), b'32'], [])
    kernel.run()
    r = GuestRun(p.exit_status, bytes(out), log, kernel)
    passed(r, 'data_swap')
    assert kernel.vmstat['pageout_failed'] > 0


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


def test_mmap_shared_writes_reach_the_disk_and_private_ones_never(disk):
    from conftest import run_on_disk, fsck, debugfs_cat
    r = run_on_disk(disk, '/tests/mmap_file')
    passed(r, 'mmap_file')
    data = debugfs_cat(disk, '/mapped')
    assert len(data) == 3 * 4096
    assert data[:7] == b'abcdefg'                  # the private write never reached the file
    assert data[4096:4102] == b'SHARED'            # msync
    assert data[8192:8198] == b'ATEXIT'            # written back when the mapping went away
    assert fsck(disk).returncode == 0


def dma_commands(kernel):
    issued = []
    kernel.trace.subscribe(lambda e: issued.append(e.args['sectors'])
                           if e.kind == 'dma' and e.args.get('phase') == 'issue' else None)
    return issued


def test_readahead_turns_a_sequential_read_into_few_large_commands(disk):
    from conftest import put_file
    size = 16 << 20
    put_file(disk, '/big', bytes(range(256)) * (size // 256))
    kernel, out, log = boot(disk=disk)
    issued = dma_commands(kernel)
    p = kernel.spawn(kernel.read_guest_file(b'/tests/readall'), [b'readall', b'/big', b'4096'], [])
    kernel.run()
    assert out.decode().startswith(f'{size} bytes'), out
    data_commands = [s for s in issued if s >= 8]
    pages = size // 4096
    assert len(data_commands) < pages // 16, (len(data_commands), pages)
    assert max(issued) >= 256                      # at least 128 KiB in one command
    assert kernel.vmstat['readahead_hits'] > pages // 2
    assert kernel.vmstat['readahead_wasted'] == 0


def test_random_reads_turn_readahead_off(disk):
    from conftest import put_file
    put_file(disk, '/big', bytes(4 << 20))
    kernel, out, log = boot(disk=disk)
    from kernel.fs.vfs import Cwd, O_RDONLY
    from kernel.proc.wait import run_boot
    f = run_boot(kernel, kernel.vfs.open(b'/big', O_RDONLY, 0, Cwd()))
    for offset in (3 << 20, 1 << 20, 2 << 20, 5000, 900_000):
        run_boot(kernel, f.pread(4096, offset))
    assert kernel.vmstat['readahead_pages'] == 0


def test_a_mapped_file_larger_than_memory_reads_through_twice(disk):
    """8 MiB mapped in 4 MiB of RAM: reclaim unmaps clean file pages from the process
    (mm/reclaim.py, _cache_page) and the buffer cache gives their frames back."""
    r = run_on_disk(disk, '/tests/mmap_large', '8', mem=4 << 20)
    passed(r, 'mmap_large')
    assert r.kernel.vmstat['pgsteal_file'] > 1000


def stopped_after_mmap(disk, mib: str = '1', **boot_args):
    """/tests/mmap_large stopped as soon as its file is mapped: (kernel, its output, the
    process, the mapping's region, the address of a page of it not yet mapped)."""
    kernel, out, log = boot(disk=disk, **boot_args)
    p = kernel.spawn(kernel.read_guest_file(b'/tests/mmap_large'), [b'mmap_large', mib.encode()], [])
    while not any(r.file is not None for r in p.aspace.regions):
        kernel.stop_requested = False
        kernel.clock.schedule_in(100_000, lambda: setattr(kernel, 'stop_requested', True))
        kernel.run()
    kernel.stop_requested = False
    region = next(r for r in p.aspace.regions if r.file is not None)
    va = next(va for va in range(region.end - 4096, region.start - 1, -4096) if not p.aspace.pt.lookup(va))
    return kernel, out, p, region, va


def test_a_page_fault_that_finds_no_frame_for_a_file_page_is_out_of_memory_not_a_read_error(disk):
    """A fault on a mapped file page whose read cannot even start, because the cache found
    no frame for it, takes the out-of-memory path (reclaim, a wait, the OOM killer), not
    SIGBUS for a read error the disk never had."""
    import dataclasses
    from emu.cpu import PF_USER
    from kernel.mm import fault
    kernel, out, p, region, va = stopped_after_mmap(disk, mem=16 << 20)

    class NoFrameCache:                  # a cache whose prefetch found no frame free
        bad: set = set()
        gives_back_mapped_pages = True

        def prefetch(self, blocks): pass

        def page(self, n): return None
    real = region.file
    region.file = dataclasses.replace(real, cache=NoFrameCache())
    try:
        result = fault.handle(p.aspace, kernel.frames, va, PF_USER, 0)
    finally:
        region.file = real
    assert result.action is fault.Action.NO_MEMORY, result
    kernel.run()
    assert p.exit_status == 0 and '(mmap_large) end' in out.decode(), out.decode()


def test_a_file_page_read_for_a_fault_survives_reclaim_until_its_process_maps_it(disk):
    """The kernel's loop balances memory between the read's completion and the faulting
    process's turn: the block is passed over once, so the retried fault maps it instead of
    reading it again (and again, for ever, with memory short)."""
    from emu.cpu import PF_USER
    from kernel.mm import fault
    kernel, out, p, region, va = stopped_after_mmap(disk, mem=16 << 20)
    cache = region.file.cache
    cache.flush()
    cache.invalidate()                             # the file's clean pages leave memory
    first = fault.handle(p.aspace, kernel.frames, va, PF_USER, 0)
    assert first.action is fault.Action.WAIT
    block = region.file.blocks[(va - region.start) // 4096]
    kernel.run_until(lambda: cache.peek(block) is not None)
    cache.shrink(10**6)                            # memory short: every clean idle block goes
    again = fault.handle(p.aspace, kernel.frames, va, PF_USER, 0)
    assert again.action is fault.Action.FILE_READ, again
    kernel.run()
    assert p.exit_status == 0, out.decode()


def test_a_fault_that_reclaim_answers_by_taking_back_its_own_page_is_thrashing(disk):
    """out_of_memory says RETRY when it freed frames at once; if the retried fault is for a
    page the process already got that way and it has run no instruction since, it can
    only go round: the OOM killer must make room instead (here it picks the faulting
    process itself, whose fault then ends in a kill that says why)."""
    from emu.cpu import PF_USER
    from kernel.mm import fault
    from kernel.mm.reclaim import Oom
    kernel, out, p, region, va = stopped_after_mmap(disk, mem=16 << 20)
    tries = []

    def no_frame(*args):
        tries.append(1)
        assert len(tries) < 100, 'the fault went round and round'
        return fault.FaultResult(fault.Action.NO_MEMORY, 'no free frame', 7)
    kernel._page_fault = no_frame
    asked = []

    def out_of_memory(q, retry_if_freed=True):
        asked.append(retry_if_freed)           # frames freed at once: a retry, unless ...
        return Oom.RETRY if retry_if_freed else Oom.FAIL    # (FAIL: the killer chose q)
    kernel.reclaim.out_of_memory = out_of_memory
    result = kernel.page_fault(p, va, PF_USER)
    assert result.action is fault.Action.KILL and 'thrashing' in result.reason, result
    assert len(tries) == 2 and asked == [True, True, False]   # ... the repeat: kill instead


def test_with_no_swap_room_reclaim_keeps_a_floor_of_file_pages(disk):
    """Anonymous memory that cannot go to swap grows only by taking file pages; below a
    floor (1/16 of RAM) reclaim stops taking them, so the OOM killer acts instead of the
    process refaulting its own code for ever."""
    kernel, out, p, region, va = stopped_after_mmap(disk, mem=16 << 20)
    reclaim = kernel.reclaim
    assert kernel.frames.swap is None
    file_pages = [f for f in reclaim.file_pages if kernel.frames.rmap.mappers(f)]
    assert file_pages
    reclaim.file_floor = len(reclaim.file_pages)
    assert not any(reclaim.can_evict(f) for f in file_pages)
    reclaim.file_floor = 0
    assert any(reclaim.can_evict(f) for f in file_pages)
    kernel.run()
    assert p.exit_status == 0
