"""Grading tests of the page-table lab (labs/pgtbl/README.md)."""

import dataclasses
import re

from gradelib import test, expect, expect_true, passed, boot, run, page_tree, USERLAND

VMPRINT = 1006                       # UKERN_SYSCALL_BASE + 6: SYS_ukern_vmprint
USYSCALL = 0x7FFF_0000_0000          # UKERN_USYSCALL
PAGE = 4096


# -- the grader's own walk (gradelib.page_tree): what vmprint must print -----------------------

tree = page_tree


def printed_trees(text: str) -> list[list[str]]:
    """The trees in a console output: a 'page table' line and the ' ..' lines after it."""
    trees = []
    for line in text.splitlines():
        if line.startswith('page table'):
            trees.append([line])
        elif line.startswith(' ..') and trees:
            trees[-1].append(line)
    return trees


def run_spied(program: str, *args: str):
    """Run a guest program; each ukern_vmprint call first records the grader's walk of the
    caller's tables.  Returns (GuestRun, [expected tree per call])."""
    from kernel.sys.table import SYSCALLS
    entry = SYSCALLS[VMPRINT]
    walks = []

    def spy(k, p):
        walks.append(tree(k.machine.memory, p.aspace.pt.root))
        return entry.handler(k, p)
    SYSCALLS[VMPRINT] = dataclasses.replace(entry, handler=spy)
    try:
        return run(program, *args), walks
    finally:
        SYSCALLS[VMPRINT] = entry


def same_tree(what: str, expected: list[str], got: list[str], r) -> None:
    for n, (e, g) in enumerate(zip(expected, got)):
        expect(f'{what}, line {n + 1}', e, g, r)
    expect(f'{what}: lines', len(expected), len(got), r)


# -- (a) vmprint ------------------------------------------------------------------------------------

@test('pgtbl: vmprint prints a tree per call (tests/pgtbl_vmprint)', points=10)
def _():
    r, walks = run_spied('tests/pgtbl_vmprint')
    passed(r, 'pgtbl_vmprint')
    got = printed_trees(r.text)
    expect('trees printed ("page table 0x..." lines)', len(walks), len(got), r)
    for n, (e, g) in enumerate(zip(walks, got)):
        expect(f'tree {n + 1}: its first line (the PML4\'s address)', e[0], g[0], r)
        expect_true(f'tree {n + 1}: entry lines', len(g) > 1, '" ..N: PML4E ..." lines', 'none', r)


@test('pgtbl: the trees are the tables, entry for entry (tests/pgtbl_vmprint)', points=20)
def _():
    r, walks = run_spied('tests/pgtbl_vmprint')
    got = printed_trees(r.text)
    expect('trees printed', len(walks), len(got), r)
    for n, (e, g) in enumerate(zip(walks, got)):
        same_tree(f'tree {n + 1}', e, g, r)
    branch = ' .. .. .. ..0: PTE '         # 0x40000000: PML4 0, PDPT 1, PD 0, PT 0
    new = [l for l in got[1] if l not in got[0]]
    expect_true('the page written between the calls appears in the second tree',
                any(l.startswith(branch) and '|W|' in l and '|D|' in l for l in new),
                f'a new "{branch.strip()}... P|W|U|A|D|NX" line', new, r)


@test('pgtbl: /bin/pgtbl 40 prints its own tables', points=5)
def _():
    r, walks = run_spied('bin/pgtbl', '40')
    expect('exit status', 0, r.status, r)
    got = printed_trees(r.text)
    expect('trees printed', 1, len(got), r)
    same_tree('the tree', walks[0], got[0], r)
    ptes = [l for l in got[0] if ': PTE ' in l and '|D|' in l]
    expect_true('dirty PTEs (the 40 pages touched, the stack, the data)', len(ptes) >= 40,
                '>= 40', len(ptes), r)


# -- (b) the ukern page -----------------------------------------------------------------------------

@test('pgtbl: ukern_getpid() == getpid() in parent and child; writing it is SIGSEGV (tests/pgtbl_ugetpid)',
      points=20)
def _():
    passed(run('tests/pgtbl_ugetpid'), 'pgtbl_ugetpid')


def _ukern_pte(k, p, who: str):
    from kernel.mm.pagetable import P, W, U, NX, frame_of
    pte = p.aspace.pt.lookup(USYSCALL)
    expect(f'{who}: the PTE at {USYSCALL:#x} is present', True, bool(pte & P))
    expect(f'{who}: the ukern page\'s rights (user, writable, no-execute)', (True, False, True),
           (bool(pte & U), bool(pte & W), bool(pte & NX)))
    frame = frame_of(pte)
    expect(f'{who}: the pid in the page\'s first 8 bytes', p.pid, k.machine.memory.read_u64(frame))
    return frame


@test('pgtbl: the ukern page: user, read-only, NX, a frame per process (spawn, fork, exec)', points=10)
def _():
    from kernel.proc import lifecycle
    k, out, log = boot()
    data = (USERLAND / 'tests/pgtbl_ugetpid').read_bytes()
    free = k.frames.free_count
    p = k.spawn(data, [b'pgtbl_ugetpid'], [])
    parent = _ukern_pte(k, p, 'the first process')
    child = lifecycle.fork(k, p)
    mine = _ukern_pte(k, child, 'fork\'s child')
    expect_true('the child has a frame of its own', mine != parent, f'a frame other than {parent:#x}', hex(mine))
    expect('the parent\'s page still holds its pid', p.pid, k.machine.memory.read_u64(parent))
    expect('references to the parent\'s frame', 1, k.frames.refs(parent))
    expect('references to the child\'s frame', 1, k.frames.refs(mine))
    lifecycle.exec_image(k, child, data, [b'pgtbl_ugetpid'], [], 'pgtbl_ugetpid')
    action, child.resume_action = child.resume_action, None
    action()                                     # the switch to the new image
    _ukern_pte(k, child, 'the child after exec')
    k.run()
    expect('exit status of the first process', 0, p.exit_status, bytes(out).decode(errors='replace'))
    expect('exit status of the exec\'d child', 0, child.exit_status, bytes(out).decode(errors='replace'))
    expect('frames free once every process has exited (no ukern page leaks)', free, k.frames.free_count)


# -- (c) the Accessed bit ---------------------------------------------------------------------------

@test('pgtbl: pgaccess reports pages 1, 2 and 30, then none (tests/pgtbl_access)', points=25)
def _():
    passed(run('tests/pgtbl_access'), 'pgtbl_access')


@test('pgtbl: pgaccess clears only A, skips absent pages, flushes the TLB', points=10)
def _():
    from emu.cpu import PF_WRITE, PF_USER
    from kernel.mm import fault, pgtbl_report
    from kernel.mm.pagetable import A, D, SWAP
    from kernel.mm.vm import Region, Kind, Prot
    k, _, _ = boot()
    p = k.spawn((USERLAND / 'bin/true').read_bytes(), [b'true'], [])
    a, base = p.aspace, 0x4000_0000
    a.add(Region(base, base + 16 * PAGE, Prot.READ | Prot.WRITE, Kind.ANON, 'data'))
    for i in range(8):                                    # pages 0-7 present, 8-15 not
        fault.handle(a, k.frames, base + i * PAGE, PF_WRITE | PF_USER, 0)
    before = {}
    for i in range(8):
        va = base + i * PAGE
        pte = a.pt.lookup(va) & ~(A | D)
        pte |= {0: A, 3: A | D, 6: A, 7: D}.get(i, 0)
        a.pt.update(va, pte)
        before[i] = pte
    fake_swap = (12345 << 12) | SWAP | A                  # not present: A means nothing here
    a.pt.set(base + 9 * PAGE, fake_swap)
    flushes = []
    flush = k.cpu.flush_tlb
    k.cpu.flush_tlb = lambda: (flushes.append(1), flush())
    k.current = p                                         # as in p's own system call
    mask = pgtbl_report.pgaccess(k, p, base, 16)
    expect('the mask', bin(0b1001001), bin(mask))
    for i in range(8):
        expect(f'page {i}\'s PTE after pgaccess (only A cleared)', hex(before[i] & ~A),
               hex(a.pt.lookup(base + i * PAGE)))
    expect('the not-present (swap) entry is left alone', hex(fake_swap), hex(a.pt.lookup(base + 9 * PAGE)))
    expect_true('the TLB was flushed after clearing A bits', bool(flushes), 'k.flush_tlb(p)', 'no flush')
    expect('a second pgaccess', 0, pgtbl_report.pgaccess(k, p, base, 16))
    expect('pgaccess over absent page tables', 0, pgtbl_report.pgaccess(k, p, 0x6000_0000_0000, 64))


# -- challenge ---------------------------------------------------------------------------------------

@test('pgtbl: vmprint shows 2 MiB and 1 GiB pages as leaves', points=10, optional=True)
def _():
    from kernel.mm import pgtbl_report
    from kernel.mm.pagetable import P, W, U, PTE
    from kernel.mm.vm import AddressSpace
    k, _, _ = boot()
    a = AddressSpace(k.frames, k.kernel_pdpt)
    frame = k.frames.alloc()
    a.pt.map(0x4000_0000, frame, U | W)                   # PML4 0 -> PDPT 1 -> PD 0 -> PT 0
    mem = k.machine.memory
    pdpt = mem.read_u64(a.pt.root) & 0x000F_FFFF_FFFF_F000
    pd = mem.read_u64(pdpt + 8) & 0x000F_FFFF_FFFF_F000
    PS = int(PTE.PS)
    mem.write_u64(pd + 8 * 3, 0x0060_0000 | P | W | U | PS)          # 2 MiB at 0x40600000
    mem.write_u64(pdpt + 8 * 2, 0x4000_0000 | P | U | PS)            # 1 GiB at 0x80000000
    expected = tree(mem, a.pt.root)
    got = pgtbl_report.vmprint(a.pt)
    for n, (e, g) in enumerate(zip(expected, got)):
        expect(f'line {n + 1}', e, g)
    expect('lines', len(expected), len(got))
