"""2 MiB pages (kernel/mm/huge.py): a first touch in an aligned 2 MiB block of a large
anonymous mapping maps it with one PS page-directory entry; the books hold one entry per
2 MiB page; anything that needs 4 KiB granularity splits it (munmap/mprotect/madvise of
part, fork, reclaim), a whole one is freed without splitting; `--no-huge-pages` and an
active lab turn them off."""

import pytest

from conftest import boot
from test_memory import run_small
from test_programs import passed

from emu.cpu import PF_WRITE, PF_USER
from kernel import labs
from kernel.mm import fault
from kernel.mm.pagetable import A, D, P, PS, HUGE_SIZE, HUGE_PAGES, ADDR_MASK
from kernel.mm.vm import AddressSpace, Region, Kind, Prot

PAGE = 4096
BASE = 0x4000_0000            # 2 MiB-aligned


def _faults(kernel):
    seen = []
    kernel.trace.subscribe(lambda e: seen.append(e) if e.kind == 'fault' else None)
    return seen


def _run(kernel, userland, name, *args):
    path = userland / 'tests' / name
    p = kernel.spawn(path.read_bytes(), [name.encode()] + [a.encode() for a in args], [])
    kernel.run()
    return p


def test_64_mib_take_one_fault_per_2_mib_each_a_ps_pde(userland):
    kernel, out, _ = boot(mem=256 << 20)
    seen = _faults(kernel)
    p = _run(kernel, userland, 'huge_touch')
    text = bytes(out).decode()
    assert '(huge_touch) end' in text and 'FAIL' not in text, text
    assert p.exit_status == 0
    # the tree the guest printed (vmprint) while the mapping was there: 32 PS leaves
    pdes = [line for line in text.splitlines() if ' PDE ' in line and '|PS' in line]
    assert len(pdes) >= 32, text
    huge = [e for e in seen if e.args.get('huge')]
    assert len(huge) == 32
    for e in huge:                        # the fault trace shows the PS PDE it made
        pde = e.args['after'].leaf
        assert pde & PS and pde & P and not (pde & ADDR_MASK) % HUGE_SIZE
    assert kernel.vmstat['thp_fault_alloc'] == 32


@pytest.mark.parametrize('mode, text', [('brief', 'zero-fill, mapped a 2 MiB page'),
                                         ('walk', 'action: zero-fill, mapped a 2 MiB page')])
def test_the_fault_line_says_it_mapped_a_2_mib_page(userland, mode, text):
    import io
    from kernel.trace.faultbrief import FaultLog
    kernel, out, _ = boot(mem=256 << 20)
    stream = io.StringIO()
    kernel.trace.subscribe(FaultLog(kernel, stream, mode))
    _run(kernel, userland, 'huge_touch')
    lines = [line for line in stream.getvalue().splitlines() if line.endswith(text)]
    assert len(lines) == 32, stream.getvalue()


def test_the_books_balance_while_2_mib_pages_are_mapped(userland):
    from kernel.check import find_problems
    kernel, out, _ = boot(mem=256 << 20)
    looked = []

    def look(e):                          # at a few faults and calls of the running program
        p = kernel.procs.get(e.pid)
        if e.kind in ('fault', 'syscall') and p is not None and p.aspace.pt.deposit and len(looked) < 4:
            looked.append((len(p.aspace.pt.deposit), find_problems(kernel)))
    kernel.trace.subscribe(look)
    _run(kernel, userland, 'huge_touch')
    assert len(looked) == 4 and looked[-1][0] >= 4
    assert all(problems == [] for _, problems in looked), looked


def test_without_huge_pages_the_blocks_are_4_kib_entries(userland):
    kernel, out, _ = boot(mem=256 << 20)
    kernel.huge_pages = False
    seen = _faults(kernel)
    _run(kernel, userland, 'huge_touch')
    text = bytes(out).decode()
    assert '(huge_touch) end' in text
    assert not [line for line in text.splitlines() if '|PS' in line]
    assert not [e for e in seen if e.args.get('huge')] and kernel.vmstat['thp_fault_alloc'] == 0


def test_no_huge_pages_while_a_lab_is_in_progress(userland, monkeypatch):
    monkeypatch.setattr(labs, '_active', ('pgtbl', None, True))   # what activate() records
    kernel, out, _ = boot(mem=256 << 20)
    _run(kernel, userland, 'huge_touch')
    assert '(huge_touch) end' in bytes(out).decode()
    assert kernel.vmstat['thp_fault_alloc'] == 0


def test_partial_munmap_mprotect_madvise_split_a_2_mib_page(run):
    r = run('tests/huge_split', mem=64 << 20)
    passed(r, 'huge_split')
    assert r.kernel.vmstat['thp_fault_alloc'] >= 3


def test_fork_splits_then_copies_on_write(run):
    r = run('tests/huge_fork', mem=64 << 20)
    passed(r, 'huge_fork')
    assert r.kernel.vmstat['thp_fault_alloc'] >= 4


def test_memory_pressure_splits_and_swaps_2_mib_pages(userland, tmp_path):
    r = run_small(userland, tmp_path, 'tests/huge_swap', '40', mem=32 << 20)
    passed(r, 'huge_swap')
    stats = r.kernel.vmstat
    assert stats['thp_fault_alloc'] > 0 and stats['thp_split_page'] > 0
    assert stats['pswpout'] > 0 and stats['pswpin'] > 0


@pytest.mark.parametrize('policy', ['fifo', 'second-chance', 'seq', 'clock-pro', 'lru'])
def test_every_policy_splits_and_swaps_2_mib_pages(userland, tmp_path, policy):
    r = run_small(userland, tmp_path, 'tests/huge_swap', '40', mem=32 << 20, policy=policy)
    passed(r, 'huge_swap')
    assert r.kernel.vmstat['thp_split_page'] > 0 and r.kernel.vmstat['pswpout'] > 0


@pytest.mark.parametrize('seed', [1, 2, 3])
def test_a_random_mix_of_splitting_calls_keeps_every_page(run, seed):
    """Writes, madvise, mprotect, munmap and mmap over, mremap and fork, at random, each
    step checked against a shadow of every page (userland/tests/huge_mix.c)."""
    r = run('tests/huge_mix', str(seed), '300')
    passed(r, 'huge_mix')
    assert r.kernel.vmstat['thp_fault_alloc'] > 0 and r.kernel.vmstat['thp_split_page'] > 0


def test_the_random_mix_under_memory_pressure(userland, tmp_path):
    # 16 MiB of pages in 14 MiB of RAM, each step checking all of them: it swaps all the
    # time (about 14 s), so only 20 steps
    r = run_small(userland, tmp_path, 'tests/huge_mix', '4', '20', mem=14 << 20)
    passed(r, 'huge_mix')
    assert r.kernel.vmstat['pswpout'] > 0


# -- the mechanism, host side ------------------------------------------------------------
def _space(blocks: int = 2):
    k, _, _ = boot()
    a = AddressSpace(k.frames, k.kernel_pdpt)
    a.add(Region(BASE, BASE + blocks * HUGE_SIZE, Prot.READ | Prot.WRITE, Kind.ANON, 'data'))
    return k, a


def _touch(k, a, va):
    return fault.handle(a, k.frames, va, PF_WRITE | PF_USER, 0, 1 << 20, huge=True)


def test_a_huge_page_is_one_pde_and_one_book_entry():
    k, a = _space()
    r = _touch(k, a, BASE + 77 * PAGE)
    assert r.huge and r.around == () and r.frame % HUGE_SIZE == 0
    pde = a.pt.huge_entry(BASE)
    assert pde & PS and pde & ADDR_MASK == r.frame
    assert a.pt.lookup(BASE + 5 * PAGE) == (pde & ~PS) + 5 * PAGE   # a 4 KiB view of it
    assert k.frames.rmap.mappers(r.frame) == [(a, BASE)]
    assert not k.frames.rmap.mapped(r.frame + PAGE)                 # not 512 entries
    assert k.frames.refs(r.frame + 511 * PAGE) == 1
    assert a.resident() == HUGE_PAGES
    free = k.frames.free_count
    assert a.unmap_range(BASE, BASE + HUGE_SIZE) == HUGE_PAGES      # whole: no split
    assert k.frames.free_count == free + HUGE_PAGES + 1             # and its deposited table
    assert not a.pt.deposit and not k.frames.rmap.mapped(r.frame)
    a.destroy()


def test_setting_a_or_d_keeps_the_page_clearing_a_splits_it():
    k, a = _space()
    frame = _touch(k, a, BASE).frame
    pte = a.pt.lookup(BASE + 3 * PAGE)
    a.pt.update(BASE + 3 * PAGE, pte | A | D)                       # what a kernel copy does
    assert a.pt.huge_entry(BASE) & (A | D) == A | D
    a.pt.update(BASE + 3 * PAGE, a.pt.lookup(BASE + 3 * PAGE) & ~A)  # aging: page by page
    assert not a.pt.huge_entry(BASE) and not a.pt.deposit
    assert a.pt.lookup(BASE + 3 * PAGE) & A == 0 and a.pt.lookup(BASE + 4 * PAGE) & A
    for i in range(HUGE_PAGES):                                     # ordinary books now
        assert k.frames.rmap.mappers(frame + i * PAGE) == [(a, BASE + i * PAGE)]
    assert k.vmstat['thp_split_page'] == 1
    assert set(range(frame + PAGE, frame + HUGE_SIZE, PAGE)) <= k.reclaim.tracked
    a.destroy()


def test_unmapping_part_splits_and_frees_only_that_part():
    k, a = _space()
    frame = _touch(k, a, BASE).frame
    free = k.frames.free_count
    assert a.unmap_range(BASE + 10 * PAGE, BASE + 12 * PAGE) == 2
    assert k.frames.free_count == free + 2
    assert not a.pt.lookup(BASE + 10 * PAGE) and a.pt.lookup(BASE + 12 * PAGE) & P
    assert k.frames.refs(frame + 10 * PAGE) == 0 and k.frames.refs(frame + 12 * PAGE) == 1
    a.destroy()


def test_an_aligned_run_skips_a_misaligned_free_start():
    k, _, _ = boot()
    frames = k.frames
    frames.alloc()                                   # the lowest free frame is now taken
    first = frames.alloc_aligned_run(HUGE_PAGES)
    assert first % HUGE_SIZE == 0 and frames.refs(first) == 1 and frames.refs(first + HUGE_SIZE - PAGE) == 1
    assert bytes(frames.memory.read(first, PAGE)) == bytes(PAGE)
    frames.release_run(first, HUGE_PAGES)
    k.unbalanced = 'the test took a frame by hand'
