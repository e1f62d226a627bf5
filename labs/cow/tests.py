"""Grading tests of the copy-on-write lab (labs/cow/README.md)."""

from collections import Counter

from gradelib import test, expect, expect_true, passed, boot, run, USERLAND

PAGES = 16
BASE = 0x4000_0000


def _space(prot='rw', shared=False):
    """A booted kernel and an address space with PAGES written pages (byte i at page i)."""
    from emu.cpu import PF_WRITE, PF_USER
    from kernel.mm import fault
    from kernel.mm.vm import AddressSpace, Region, Kind, Prot
    k, _, _ = boot()
    a = AddressSpace(k.frames, k.kernel_pdpt)
    a.add(Region(BASE, BASE + PAGES * 4096, Prot.READ | Prot.WRITE, Kind.ANON, 'data', None, shared))
    for i in range(PAGES):
        res = fault.handle(a, k.frames, BASE + i * 4096, PF_WRITE | PF_USER, 0)
        expect('a write fault on a fresh page', fault.Action.ZERO_FILL, res.action)
        k.machine.memory.write(a.pt.lookup(BASE + i * 4096) & 0xFFFFFFFFF000, bytes([i + 1]) * 4096)
    if prot == 'r':
        from kernel.mm.pagetable import W
        a.regions[0].prot = Prot.READ
        for va, pte in list(a.pt.present_pages(BASE, BASE + PAGES * 4096)):
            a.pt.update(va, pte & ~W)
    return k, a


def _write(k, a, va):
    from emu.cpu import PF_WRITE, PF_USER, PF_PRESENT
    from kernel.mm import fault
    return fault.handle(a, k.frames, va, PF_WRITE | PF_USER | PF_PRESENT, 0)


@test('cow: fork_cow (parent and children write the same pages)', points=20)
def _():
    passed(run('tests/fork_cow'), 'fork_cow')


@test('cow: fork shares the frames instead of copying them', points=20)
def _():
    from kernel.mm.pagetable import W, COW, frame_of
    k, a = _space()
    free = k.frames.free_count
    child = a.fork()
    used = free - k.frames.free_count
    expect_true('frames fork allocates (page tables only)', used <= 4, '<= 4', used)
    for i in range(PAGES):
        va = BASE + i * 4096
        pp, cp = a.pt.lookup(va), child.pt.lookup(va)
        expect(f'child frame of page {i}', hex(frame_of(pp)), hex(frame_of(cp)))
        expect(f'reference count of page {i}', 2, k.frames.refs(frame_of(pp)))
        expect(f'page {i} writable in parent / child', (False, False), (bool(pp & W), bool(cp & W)))
        expect(f'page {i} COW bit in parent / child', (True, True), (bool(pp & COW), bool(cp & COW)))


@test('cow: a write copies the page for the writer; the last sharer keeps it', points=20)
def _():
    from kernel.mm import fault
    from kernel.mm.pagetable import W, COW, frame_of
    k, a = _space()
    child = a.fork()
    va = BASE + 3 * 4096
    old = frame_of(a.pt.lookup(va))
    res = _write(k, child, va)
    expect('action of the child\'s write fault', fault.Action.COW_COPY, res.action)
    cp = child.pt.lookup(va)
    expect_true('the child has a new frame', frame_of(cp) != old, 'a frame other than ' + hex(old), hex(frame_of(cp)))
    expect('the child\'s page is writable', True, bool(cp & W))
    expect('the copy holds the page\'s data', bytes([4]) * 4096, k.machine.memory.read(frame_of(cp), 4096))
    expect('reference count of the old frame', 1, k.frames.refs(old))
    res = _write(k, a, va)
    expect('action of the parent\'s write fault (last sharer)', fault.Action.COW_REUSE, res.action)
    pp = a.pt.lookup(va)
    expect('the parent keeps its frame', hex(old), hex(frame_of(pp)))
    expect('the parent\'s page is writable and not COW', (True, False), (bool(pp & W), bool(pp & COW)))
    other = BASE + 5 * 4096
    expect('an untouched page is still shared', frame_of(a.pt.lookup(other)), frame_of(child.pt.lookup(other)))


@test('cow: read-only and MAP_SHARED pages are shared, never marked COW', points=10)
def _():
    from kernel.mm.pagetable import W, COW, frame_of
    for prot, shared, writable in (('r', False, False), ('rw', True, True)):
        k, a = _space(prot, shared)
        free = k.frames.free_count
        child = a.fork()
        expect_true(f'frames fork allocates ({prot}, shared={shared})', free - k.frames.free_count <= 4,
                    '<= 4', free - k.frames.free_count)
        pp, cp = a.pt.lookup(BASE), child.pt.lookup(BASE)
        expect(f'same frame ({prot}, shared={shared})', frame_of(pp), frame_of(cp))
        expect(f'(writable, COW) in the child ({prot}, shared={shared})', (writable, False),
               (bool(cp & W), bool(cp & COW)))


def _fork_cow_run():
    k, out, log = boot()
    faults = Counter()
    k.trace.subscribe(lambda e: faults.update([e.args['action']]) if e.kind == 'fault' else None)
    free = k.frames.free_count
    p = k.spawn((USERLAND / 'tests/fork_cow').read_bytes(), [b'fork_cow'], [])
    k.run()
    return k, p, faults, free, out, log


@test('cow: fork_cow copies pages on write faults, in the trace', points=20)
def _():
    k, p, faults, free, out, log = _fork_cow_run()
    expect('fork_cow exit status', 0, p.exit_status, bytes(out).decode(errors='replace'))
    copies, reuses = faults['copy-on-write copy'], faults['copy-on-write, last sharer keeps the page']
    # 3 children each write the 64 pages of the array, the parent too: each write of a
    # shared page is one fault (a copy, or the last sharer taking it back).
    expect_true('copy-on-write faults (copies + reuses) in the trace', copies + reuses >= 4 * 64,
                '>= 256', f'{copies} copies, {reuses} reuses')


@test('cow: no frame leaks after fork_cow', points=10)
def _():
    k, p, faults, free, out, log = _fork_cow_run()
    expect('fork_cow exit status', 0, p.exit_status, bytes(out).decode(errors='replace'))
    expect('frames in use after every process has exited', 0, free - k.frames.free_count)
