"""Grading tests of the lazy-allocation lab (labs/lazy/README.md)."""

from gradelib import test, expect, expect_true, passed, boot, run, USERLAND

PAGE = 4096


def _process():
    """A booted kernel and a process (not yet run) whose heap is empty."""
    k, _, _ = boot()
    p = k.spawn((USERLAND / 'tests/lazy_sbrk').read_bytes(), [b'lazy_sbrk'], [])
    return k, p


def _brk(k, p, addr: int) -> int:
    """Call brk through the system-call table, as the guest's `syscall` would."""
    from kernel.sys.table import SYSCALLS
    result = SYSCALLS[12].handler(k, p, addr)
    if hasattr(result, 'send'):                  # a generator: brk should never block
        try:
            while True:
                next(result)
        except StopIteration as stop:
            result = stop.value
    return result


def _present(p, start, end):
    return [va for va, _ in p.aspace.pt.present_pages(start, end)]


def _shown(vas):
    """A list of pages as the grader prints it (the first few)."""
    text = [hex(v) for v in vas[:4]]
    return text + [f'... {len(vas)} pages in all'] if len(vas) > 4 else text


def _touch(k, p, va, write=True):
    from emu.cpu import PF_USER, PF_WRITE
    from kernel.mm import fault
    return fault.handle(p.aspace, k.frames, va, PF_USER | (PF_WRITE if write else 0), 0)


@test('lazy: tests/lazy_sbrk (a 1 GiB break touched in 16 places, fork, read(), shrink)', points=25)
def _():
    passed(run('tests/lazy_sbrk'), 'lazy_sbrk')


@test('lazy: growing the break maps nothing and allocates no frame', points=20)
def _():
    k, p = _process()
    start = p.aspace.brk_start
    free = k.frames.free_count
    top = start + 256 * PAGE
    expect('brk(start + 1 MiB) returns', hex(top), hex(_brk(k, p, top)))
    expect('pages present in the new heap', [], _shown(_present(p, start, top)))
    expect('frames brk allocated', 0, free - k.frames.free_count)
    heap = p.aspace.find(start)
    expect_true('a [heap] region covers the new break', heap is not None and heap.end >= top,
                f'a region up to {top:#x}', heap and f'{heap.start:#x}-{heap.end:#x}')


@test('lazy: a touch of the heap maps that one page, zeroed, for reclaim to see', points=20)
def _():
    from kernel.mm import fault
    from kernel.mm.pagetable import W, U, NX, frame_of
    k, p = _process()
    start = p.aspace.brk_start
    _brk(k, p, start + 64 * PAGE)
    va = start + 10 * PAGE
    frame0 = k.frames.alloc(zero=False)          # leave garbage in a free frame: is it zeroed?
    k.machine.memory.write(frame0, b'\xAA' * PAGE)
    k.frames.release(frame0)
    res = _touch(k, p, va + 100)
    expect('action of the first touch of a heap page', fault.Action.ZERO_FILL, res.action)
    expect('pages present after one touch', [hex(va)], _shown(_present(p, start, start + 64 * PAGE)))
    pte = p.aspace.pt.lookup(va)
    expect('the new page is user, writable, not executable', (True, True, True),
           (bool(pte & U), bool(pte & W), bool(pte & NX)))
    expect('the frame the fault reports (for reclaim) is the one mapped', hex(frame_of(pte)), hex(res.frame))
    expect('the new page reads zero', bytes(PAGE), k.machine.memory.read(frame_of(pte), PAGE))
    expect('the reverse map knows the page', [(p.aspace, va)],
           [(a, v) for a, v in k.frames.rmap.mappers(frame_of(pte))])
    res = _touch(k, p, start + 64 * PAGE + 5)
    expect('a touch above the break', fault.Action.KILL, res.action)


@test('lazy: shrinking the break frees its pages; growing again gives zeroed pages', points=20)
def _():
    from kernel.mm.pagetable import frame_of
    k, p = _process()
    start = p.aspace.brk_start
    _brk(k, p, start + 32 * PAGE)
    for i in range(32):
        _touch(k, p, start + i * PAGE)
        k.machine.memory.write(frame_of(p.aspace.pt.lookup(start + i * PAGE)), b'\x55' * PAGE)
    free = k.frames.free_count
    expect('brk(start + 4 pages) returns', hex(start + 4 * PAGE), hex(_brk(k, p, start + 4 * PAGE)))
    expect('frames freed by the shrink', 28, k.frames.free_count - free)
    expect('pages present above the new break', [], _shown(_present(p, start + 4 * PAGE, start + 32 * PAGE)))
    expect('pages kept below the new break', 4, len(_present(p, start, start + 4 * PAGE)))
    _brk(k, p, start + 32 * PAGE)
    _touch(k, p, start + 20 * PAGE, write=False)
    pte = p.aspace.pt.lookup(start + 20 * PAGE)
    expect('a page given back and touched again reads zero', bytes(PAGE),
           k.machine.memory.read(frame_of(pte), PAGE) if pte & 1 else 'not present')
    expect('brk(start) returns', hex(start), hex(_brk(k, p, start)))
    expect('pages present in the heap after brk(start)', [], _shown(_present(p, start, start + 32 * PAGE)))


@test('lazy: brk refuses what it must (below the start, over a mapping, past RLIMIT_AS)', points=10)
def _():
    from kernel.mm.vm import Region, Kind, Prot, RLIMIT_AS
    k, p = _process()
    start = p.aspace.brk_start
    expect('brk(start - 1 page)', hex(start), hex(_brk(k, p, start - PAGE)))
    p.aspace.add(Region(start + 16 * PAGE, start + 17 * PAGE, Prot.READ, Kind.ANON, '[anon]'))
    expect('brk over an anonymous mapping', hex(start), hex(_brk(k, p, start + 20 * PAGE)))
    expect('brk up to the mapping', hex(start + 16 * PAGE), hex(_brk(k, p, start + 16 * PAGE)))
    k, p = _process()
    start = p.aspace.brk_start
    p.limits.values[RLIMIT_AS] = (p.aspace.size() + 8 * PAGE, p.limits.get(RLIMIT_AS)[1])
    expect('brk by 4 pages under RLIMIT_AS', hex(start + 4 * PAGE), hex(_brk(k, p, start + 4 * PAGE)))
    expect('brk by 16 pages past RLIMIT_AS', hex(start + 4 * PAGE), hex(_brk(k, p, start + 16 * PAGE)))


@test('lazy: the kernel\'s own tests of the heap (brk, realloc, fork_cow) with your code', points=5)
def _():
    for name in ('brk', 'misc_realloc', 'fork_cow'):
        passed(run(f'tests/{name}'), name)
