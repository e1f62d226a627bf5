"""Fault-around (kernel/mm/fault.py): a sequential stream of faults maps a window of pages
at once, inside its region, over nothing already there, never under memory pressure, and
the fault trace still shows each fault the CPU took."""

from conftest import boot, run_on_disk
from test_programs import passed

from emu.cpu import PF_WRITE, PF_USER
from kernel.mm import fault
from kernel.mm.pagetable import ADDR_MASK, P
from kernel.mm.vm import AddressSpace, Region, Kind, Prot

PAGE = 4096
BASE = 0x4000_0000


def test_a_sequential_write_takes_far_fewer_faults_than_pages(run):
    r = run('tests/fault_around_seq')
    passed(r, 'fault_around_seq')
    # pages mapped besides the faulting ones: by fault-around windows and 2 MiB pages
    assert r.kernel.vmstat['fault_around'] + 511 * r.kernel.vmstat['thp_fault_alloc'] > 1900


def test_without_fault_around_every_page_faults(userland):
    kernel, out, _ = boot()
    kernel.fault_around = False
    path = userland / 'tests/fault_around_seq'
    kernel.spawn(path.read_bytes(), [b'fault_around_seq'], [])
    kernel.run()
    assert b'FAIL: far fewer faults than pages' in bytes(out)
    assert kernel.vmstat['fault_around'] == 0


def test_the_window_stays_in_its_region_and_off_a_guard(run):
    passed(run('tests/fault_around_bounds'), 'fault_around_bounds')


def test_a_mapped_file_maps_its_cached_neighbours(disk):
    r = run_on_disk(disk, '/tests/fault_around_file')
    passed(r, 'fault_around_file')


def test_a_mapped_tmpfs_file_maps_its_neighbours(run):
    passed(run('tests/fault_around_file', '/tmp/fa_data'), 'fault_around_file')


def _space(pages: int):
    k, _, _ = boot()
    a = AddressSpace(k.frames, k.kernel_pdpt)
    a.add(Region(BASE, BASE + pages * PAGE, Prot.READ | Prot.WRITE, Kind.ANON, 'data'))
    return k, a


def _touch(k, a, page: int, around: int = 1 << 20) -> fault.FaultResult:
    return fault.handle(a, k.frames, BASE + page * PAGE, PF_WRITE | PF_USER, 0, around)


def test_the_window_doubles_along_a_stream():
    k, a = _space(200)
    sizes, page = [], 0
    while page < 200:
        r = _touch(k, a, page)
        sizes.append(1 + len(r.around))
        page += sizes[-1]
    assert sizes == [1, 16, 32, 64, 87]              # the last one cut at the region's end
    assert all(a.pt.lookup(BASE + i * PAGE) & P for i in range(200))
    frames = [a.pt.lookup(BASE + i * PAGE) & ADDR_MASK for i in range(200)]
    for i, f in enumerate(frames):                    # each page is known to reclaim's rmap
        assert k.frames.rmap.mappers(f) == [(a, BASE + i * PAGE)] and k.frames.refs(f) == 1
    a.destroy()                                       # (no task owns it: the books then balance)


def test_the_window_stops_at_a_page_already_there():
    k, a = _space(64)
    _touch(k, a, 10, around=0)                        # page 10 mapped on its own
    kept = a.pt.lookup(BASE + 10 * PAGE)
    _touch(k, a, 0)
    r = _touch(k, a, 1)                               # the stream's window would reach 16
    assert len(r.around) == 8                         # pages 1..9 only
    assert a.pt.lookup(BASE + 10 * PAGE) == kept
    assert not a.pt.lookup(BASE + 11 * PAGE)
    a.destroy()


def test_no_window_when_the_caller_allows_none_or_the_order_is_not_sequential():
    k, a = _space(64)
    assert [len(_touch(k, a, i, around=0).around) for i in range(4)] == [0, 0, 0, 0]
    assert [len(_touch(k, a, i).around) for i in (40, 38, 36)] == [0, 0, 0]
    a.destroy()


def test_the_trace_shows_every_fault_with_how_many_pages_it_mapped_around(userland):
    kernel, out, _ = boot()
    kernel.huge_pages = False          # whole leaf tables of 4 KiB pages (2 MiB pages: test_huge_pages)
    seen = []
    kernel.trace.subscribe(lambda e: seen.append(e) if e.kind == 'fault' else None)
    path = userland / 'tests/fault_loop'
    p = kernel.spawn(path.read_bytes(), [b'fault_loop', b'3000'], [])
    kernel.run()
    assert b'3000 pages seq' in bytes(out)
    assert len(seen) == p.usage.minflt + p.usage.majflt
    assert sum(e.args['around'] for e in seen) == kernel.vmstat['fault_around'] > 2900
    assert max(e.args['around'] for e in seen) == 511  # a whole leaf table at a time


def test_under_memory_pressure_faults_map_one_page_each(userland, tmp_path):
    kernel, out, _ = boot(mem=24 << 20, swap=tmp_path / 'swap.img')
    events = []
    kernel.trace.subscribe(lambda e: events.append(e) if e.kind in ('fault', 'reclaim') else None)
    path = userland / 'tests/fault_loop'
    p = kernel.spawn(path.read_bytes(), [b'fault_loop', b'8000'], [])    # 32 MiB in 24 MiB
    kernel.run()
    assert p.exit_status == 0, bytes(out)                                # every page's byte back
    first_evict = next(i for i, e in enumerate(events) if e.kind == 'reclaim')
    before = [e for e in events[:first_evict] if e.kind == 'fault']
    after = [e for e in events[first_evict:] if e.kind == 'fault']
    assert any(e.args['around'] for e in before)                         # while memory was free
    assert len(after) > 1000 and not any(e.args['around'] for e in after)


def test_the_command_line_can_turn_fault_around_off(userland):
    import subprocess
    import sys
    from pathlib import Path
    path = userland / 'tests/fault_loop'
    outs = [subprocess.run([sys.executable, '-m', 'kernel', 'run', *flag, str(path), '500'],
                           capture_output=True, text=True, cwd=Path(__file__).parent.parent).stdout
            for flag in ([], ['--no-fault-around'])]
    assert outs[1] == 'fault_loop: 500 pages seq, 500 faults, sum 500\n'
    faults = int(outs[0].split(', ')[1].split()[0])
    assert 1 <= faults < 50


def test_fragmented_memory_gives_a_shorter_window():
    k, a = _space(64)
    frames = k.frames
    held = [frames.alloc() for _ in range(frames.free_count)]     # every frame taken but
    given = held[1000:1100:10] + held[2000:2012]                  # ten single frames and
    for f in given:                                               # one run of twelve
        frames.release(f)
    _touch(k, a, 0)
    r = _touch(k, a, 1)                                           # would be 16 pages
    assert 1 + len(r.around) == 8                                 # the longest power-of-two run
    assert all(a.pt.lookup(BASE + i * PAGE) & P for i in range(9))
    a.destroy()
    frames.release_all(sorted(set(held) - set(given)))


def test_adding_a_window_at_once_leaves_each_policy_as_adding_page_by_page():
    from kernel.mm.policy import POLICIES, make
    for name in sorted(POLICIES):
        bulk, single = make(name), make(name)
        for p in (bulk, single):
            for page in range(8):
                p.added(page)
            p.referenced(3)
        bulk.added_all(list(range(8, 40)))
        for page in range(8, 40):
            single.added(page)
        order = []
        for p in (bulk, single):
            victims = []
            for _ in range(10):
                victims.append(p.choose_victim(lambda page: page % 5 == 0, lambda page: None))
            order.append(victims)
        assert order[0] == order[1], name


# -- 2 MiB blocks of large anonymous mappings ---------------------------------------------
def test_scattered_first_touches_in_a_large_mapping_map_whole_2_mib_blocks(run):
    passed(run('tests/large_block'), 'large_block')


def test_a_first_touch_maps_its_aligned_2_mib_block_and_only_that():
    k, a = _space(3 * 512)                       # BASE is 2 MiB aligned: three whole blocks
    r = _touch(k, a, 512 + 300)                  # anywhere in the middle block
    assert 1 + len(r.around) == 512
    present = [bool(a.pt.lookup(BASE + i * PAGE) & P) for i in range(3 * 512)]
    assert present == [False] * 512 + [True] * 512 + [False] * 512
    assert a.pt.lookup(BASE + (512 + 300) * PAGE) & ADDR_MASK == r.frame
    for i in (512, 700, 1023):                   # each page known to reclaim's reverse map
        f = a.pt.lookup(BASE + i * PAGE) & ADDR_MASK
        assert k.frames.rmap.mappers(f) == [(a, BASE + i * PAGE)] and k.frames.refs(f) == 1
    a.destroy()                                  # (no task owns it: the books then balance)


def test_no_block_when_memory_is_short_or_the_block_is_partly_used_or_cut():
    k, a = _space(3 * 512)
    assert 1 + len(_touch(k, a, 100, around=64).around) == 1          # too little to spare
    assert 1 + len(_touch(k, a, 200).around) == 1                     # block 0 partly used
    k2, a2 = _space(512 + 100)                                        # block 1 cut at the end
    assert 1 + len(_touch(k2, a2, 520).around) == 1
    a.destroy()
    a2.destroy()
