"""Grading tests of the mapped-files lab (labs/mmap/README.md)."""

import re

from gradelib import test, expect, expect_true, passed, boot, disk, run_disk

PAGE = 4096


def _cat(image, path):
    import conftest
    return conftest.debugfs_cat(image, path)


def _fsck(image):
    import conftest
    return conftest.fsck(image)


@test('mmap: tests/mmap_lab (shared and private mappings, fork, munmap)', points=25)
def _():
    passed(run_disk('/tests/mmap_lab'), 'mmap_lab')


@test('mmap: tests/mmap_file, and its writes reach the disk (debugfs, e2fsck)', points=20)
def _():
    import conftest
    image = disk()
    r = conftest.run_on_disk(image, '/tests/mmap_file')
    passed(r, 'mmap_file')
    data = _cat(image, '/mapped')
    expect('size of /mapped on the disk', 3 * PAGE, len(data))
    expect('page 0 on the disk (a private write must never get there)', b'abcdefg', data[:7])
    expect('page 1 on the disk (written through MAP_SHARED, then msync)', b'SHARED', data[PAGE:PAGE + 6])
    expect('page 2 on the disk (written through MAP_SHARED, never msynced: exit)', b'ATEXIT',
           data[2 * PAGE:2 * PAGE + 6])
    check = _fsck(image)
    expect('e2fsck -fn exit status', 0, check.returncode, check.stdout + check.stderr)


@test('mmap: munmap hands the shared mapping\'s writes on to the disk', points=10)
def _():
    import conftest
    image = disk()
    r = conftest.run_on_disk(image, '/tests/mmap_lab')
    passed(r, 'mmap_lab')
    data = _cat(image, '/lab_mmap')
    expect('bytes 5.. of /lab_mmap on the disk', b'AT-MUNMAP', data[5:14])
    expect('bytes 3*4096+100.. (the child\'s shared write)', b'from-child', data[3 * PAGE + 100:3 * PAGE + 110])
    expect('bytes 3*4096.. (the private write must not be there)', bytes([ord('A') + (3 * PAGE) % 23]),
           data[3 * PAGE:3 * PAGE + 1])


def _held():
    """Run `mmap_lab hold` until it waits in pause(); its process and two mappings."""
    from kernel.mm.vm import Kind
    k, out, log = boot(disk=disk())
    p = k.spawn(k.read_guest_file(b'/tests/mmap_lab'), [b'/tests/mmap_lab', b'hold'], [])
    k.run()
    text = bytes(out).decode(errors='replace')
    m = re.search(r'hold: shared=0x([0-9a-f]+) private=0x([0-9a-f]+)', text)
    expect_true('mmap_lab hold reached pause()', m is not None, '"hold: shared=... private=..."', text, text)
    shared, private = (p.aspace.find(int(g, 16)) for g in m.groups())
    expect('kinds of the two regions', (Kind.FILE, Kind.FILE), (shared.kind, private.kind))
    return k, p, shared, private


def _cache_frame(region, index):
    block = region.file.blocks[index]
    buf = region.file.cache.page(block)
    return buf.addr(block) if buf is not None and buf.valid else None


@test('mmap: a shared mapping maps the buffer cache\'s own frame, writable', points=15)
def _():
    from kernel.mm.pagetable import W, D, frame_of
    k, p, shared, private = _held()
    for index in (0, 1):
        pte = p.aspace.pt.lookup(shared.start + index * PAGE)
        expect_true(f'shared page {index} present', bool(pte & 1), 'present', hex(pte))
        expect(f'shared page {index}: frame (the cache\'s)', hex(_cache_frame(shared, index) or 0),
               hex(frame_of(pte)))
        expect(f'shared page {index} writable', True, bool(pte & W))
        expect_true(f'reference count of shared page {index}\'s frame (the cache and the mappings)',
                    k.frames.refs(frame_of(pte)) >= 2, '>= 2', k.frames.refs(frame_of(pte)))
    expect('shared page 1 Dirty (written)', True, bool(p.aspace.pt.lookup(shared.start + PAGE) & D))


@test('mmap: a private mapping maps the cache\'s frame copy-on-write until it is written', points=15)
def _():
    from kernel.mm.pagetable import W, COW, frame_of
    k, p, shared, private = _held()
    pte = p.aspace.pt.lookup(private.start)
    expect('private page 0 (read): frame (the cache\'s)', hex(_cache_frame(private, 0) or 0), hex(frame_of(pte)))
    expect('private page 0 (read): (writable, COW)', (False, True), (bool(pte & W), bool(pte & COW)))
    pte = p.aspace.pt.lookup(private.start + PAGE)
    expect_true('private page 1 (written) has a frame of its own', frame_of(pte) != _cache_frame(private, 1),
                f'not {_cache_frame(private, 1):#x}', hex(frame_of(pte)))
    expect('private page 1 (written): (writable, COW)', (True, False), (bool(pte & W), bool(pte & COW)))
    expect('the written private byte', b'?', k.machine.memory.read(frame_of(pte) + 1, 1))
    expect('the file\'s byte under it', b'!', k.machine.memory.read(_cache_frame(shared, 1) + 1, 1))


@test('mmap: msync passes exactly the dirty pages on, and clears their Dirty bits', points=5)
def _():
    from kernel.mm.pagetable import D
    k, p, shared, private = _held()
    cache = shared.file.cache
    marked = []
    original = cache.mark_dirty
    cache.mark_dirty = lambda n: (marked.append(n), original(n))
    passed_on = p.aspace.sync_shared(shared, shared.start, shared.end)
    expect('pages sync_shared passed on', 1, passed_on)
    expect('blocks marked dirty in the cache', [shared.file.blocks[1]], marked)
    expect('shared page 1 Dirty after sync_shared', False, bool(p.aspace.pt.lookup(shared.start + PAGE) & D))
    expect('sync_shared of the private mapping passes nothing on', 0,
           p.aspace.sync_shared(private, private.start, private.end))


@test('mmap: the kernel\'s own mapping tests (shared anonymous memory, tmpfs, fork) with your code', points=10)
def _():
    from gradelib import run
    for name in ('shared_anon_fork', 'mmap_anon', 'fork_cow'):
        passed(run(f'tests/{name}'), name)
    passed(run_disk('/tests/tmp_swap_mmap'), 'tmp_swap_mmap')
