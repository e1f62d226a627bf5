"""The invariant checker (kernel/check.py): books corrupted on purpose give the exact finding;
long cycles of fork/exit and mmap/munmap end with the frames they started with; and
`ukern run --check` checks at every context switch (issue 21)."""

import subprocess
import sys

import pytest

from conftest import ROOT, boot
from test_programs import passed
from kernel.check import InvariantError, check, find_problems
from kernel.mm.pagetable import ADDR_MASK
from kernel.mm.pgtbl_report import USYSCALL
from kernel.mm.shmem import ShmemPages
from kernel.proc.process import State


def spawned(userland, **boot_args):
    """A kernel with one process spawned but not yet run (its address space is live)."""
    k, _, _ = boot(**boot_args)
    p = k.spawn((userland / 'tests' / 'forkexit').read_bytes(), [b'forkexit'], [])
    k.unbalanced = 'the test corrupts its books on purpose'
    return k, p


def ukern_page(p) -> int:
    return p.aspace.pt.lookup(USYSCALL) & ADDR_MASK


def test_a_fresh_kernel_balances(userland):
    k, p = spawned(userland)
    assert find_problems(k) == []
    check(k)


def test_a_leaked_frame(userland):
    k, _ = spawned(userland)
    frame = k.frames.alloc()
    assert find_problems(k) == [f'frame {frame:#x}: leaked (refcount 1, in no account)']


def test_a_refcount_one_too_many(userland):
    k, p = spawned(userland)
    frame = ukern_page(p)
    k.frames.share(frame)
    assert find_problems(k) == [f'frame {frame:#x}: refcount 2, but 1 holders (1 PTEs, mapped)']


def test_a_mapped_frame_freed(userland):
    k, p = spawned(userland)
    frame = ukern_page(p)
    k.frames.release(frame)
    assert find_problems(k) == [f'frame {frame:#x}: refcount 0, but 1 holders (1 PTEs, mapped)']


def test_a_pinned_frame_without_owner(userland):
    k, _ = spawned(userland)
    frame = k.frames.alloc()
    k.frames.pin(frame)
    k.frames.release(frame)            # no reference left, yet pinned: nothing owns the pin
    assert find_problems(k) == [f'frame {frame:#x}: pinned 1 times, 0 pin owners']


def test_a_frame_in_two_accounts(userland):
    k, p = spawned(userland)
    table = p.aspace.pt.root
    pages = ShmemPages(k.frames, None)
    pages.resident[0] = table
    k.reclaim.owners[table] = (pages, 0)   # a page table claimed as a tmpfs page too
    problems = find_problems(k)
    assert f'frame {table:#x}: in two accounts, page table and tmpfs page' in problems


def test_a_reverse_map_entry_missing(userland):
    k, p = spawned(userland)
    frame = ukern_page(p)
    k.frames.rmap.remove(frame, p.aspace, USYSCALL)
    assert find_problems(k) == [f'frame {frame:#x}: mapped at va {USYSCALL:#x}, missing from the reverse map']


def test_a_swap_slot_nobody_references(userland, tmp_path):
    k, _ = spawned(userland, swap=tmp_path / 'swap.img')
    slot = k.frames.swap.alloc()
    assert find_problems(k) == [f'swap slot {slot}: refcount 1, but a slot nobody references']


def test_a_blocked_task_on_the_runqueue(userland):
    k, p = spawned(userland)
    p.state = State.BLOCKED                # as if it had gone to sleep without leaving the queue
    assert find_problems(k) == [f'pid {p.pid}: on the runqueue, but blocked']


def test_a_runnable_task_left_on_a_wait_queue(userland):
    k, p = spawned(userland)
    k.reclaim.memory_freed.add(p)          # as if its wait had ended without leaving the queue
    assert find_problems(k) == [f'pid {p.pid}: on wait queue free memory, but runnable']


def test_check_raises_one_line_per_problem(userland):
    k, _ = spawned(userland)
    a, b = k.frames.alloc(), k.frames.alloc()
    with pytest.raises(InvariantError) as e:
        check(k)
    assert str(e.value).splitlines() == [f'frame {a:#x}: leaked (refcount 1, in no account)',
                                         f'frame {b:#x}: leaked (refcount 1, in no account)']


def test_the_books_balance_after_a_run(run):
    r = run('tests/fork_cow')
    passed(r, 'fork_cow')
    assert find_problems(r.kernel) == []


# -- long cycles end with the frames they started with ------------------------------------

def test_a_thousand_fork_exit_cycles_leave_no_frame_behind(run):
    r = run('tests/books_fork', mem=32 << 20)
    passed(r, 'books_fork')
    assert '(books_fork) free frames after the cycles, as before them' in r.text
    assert find_problems(r.kernel) == []


def test_a_thousand_mmap_munmap_cycles_leave_no_frame_behind(run):
    r = run('tests/books_mmap', mem=32 << 20)
    passed(r, 'books_mmap')
    assert find_problems(r.kernel) == []


# -- ukern run --check ------------------------------------------------------------------------

def ukern(*args):
    return subprocess.run([sys.executable, '-m', 'kernel', *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_run_check_passes_a_sound_kernel(userland):
    r = ukern('run', '--check', '--mem', '32M', str(userland / 'tests' / 'fork_cow'))
    assert r.returncode == 0, r.stderr
    assert '(fork_cow) end' in r.stdout


def test_run_check_counts_an_execve_image_not_yet_switched_to_as_live(userland):
    """execve ends the caller's slice; another process runs (and --check checks) before
    the caller switches to the image execve built, whose pages are no leak."""
    r = ukern('run', '--check', str(userland / 'tests' / 'exec_killed'))
    assert r.returncode == 0, r.stderr
    assert '(exec_killed) end' in r.stdout


def test_run_check_ends_the_run_at_the_first_finding(userland, tmp_path):
    """A kernel whose books break (a frame leaked by a guest's fork, through a planted
    fault) is stopped at the next context switch with one line and status 1."""
    plant = tmp_path / 'plant.py'
    plant.write_text(
        'import sys\n'
        'from kernel.mm import vm\n'
        'real = vm.AddressSpace.fork\n'
        'def leaky(self):\n'
        '    self.frames.alloc()\n'
        '    return real(self)\n'
        'vm.AddressSpace.fork = leaky\n'
        'from kernel.cli import main\n'
        'sys.exit(main(sys.argv[1:]))\n')
    r = subprocess.run([sys.executable, str(plant), 'run', '--check', '--mem', '32M',
                        str(userland / 'tests' / 'fork_cow')], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith('ukern: --check: the books do not balance: frame 0x'), lines[0]
    assert 'leaked (refcount 1, in no account)' in lines[0]
    assert '(fork_cow) end' not in r.stdout


# -- what the checker found ----------------------------------------------------------------

def test_a_fault_short_of_a_page_table_frame_keeps_no_frame():
    """Found by the checker (fault_around under memory pressure): a fault that took its
    page's frame and then found no frame for a missing page table lost that frame.  Now
    the tables come first, and the page's frame is never taken."""
    from emu.cpu import PF_USER, PF_WRITE
    from kernel.mm import fault
    from kernel.mm.vm import AddressSpace, Kind, Prot, Region
    k, _, _ = boot()
    a = AddressSpace(k.frames, k.kernel_pdpt)
    base = 0x4000_0000
    a.add(Region(base, base + 4096, Prot.READ | Prot.WRITE, Kind.ANON, 'data'))
    held = [k.frames.alloc() for _ in range(k.frames.free_count - 1)]
    r = fault.handle(a, k.frames, base, PF_WRITE | PF_USER, 0)
    assert r.action is fault.Action.NO_MEMORY
    k.frames.release_all(held)
    a.destroy()
    assert find_problems(k) == []
