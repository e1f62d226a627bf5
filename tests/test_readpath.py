"""The sequential read path's costs per run rather than per block: ext2 looks at an
indirect block as its runs (remembered by the block's bytes), and what the block map says
stays right when those bytes change."""

import pytest

from kernel.fs.blockdev import run_sync
from kernel.fs.ext2 import ROOT
from kernel.fs.ext2_alloc import LEAF_MEMO

from test_ext2 import GEOMETRIES, Disk, make_image, pattern


@pytest.fixture(params=GEOMETRIES.values(), ids=GEOMETRIES.keys())
def fs(request, tmp_path):
    block_size, options = request.param
    return Disk(make_image(tmp_path / 'fs.img', block_size, options=options))


def one_by_one(fs, ino, count):
    inode = run_sync(fs.ext2._iget(ino))
    return [run_sync(fs.ext2._bmap(inode, lbn))[0] for lbn in range(count)]


def expand(runs):
    out = []
    for first, count in runs:
        out += list(range(first, first + count)) if first else [0] * count
    return out


def test_runs_follow_an_indirect_block_that_changed(fs):
    bs = fs.ext2.block_size
    ino = fs.create(ROOT, 'f', 0o644)
    fs.write(ino, 0, pattern(200 * bs))
    before = fs.file_runs(ino, 0, 200)
    assert len(before) <= 3                       # a file written in one go: a few runs
    fs.truncate(ino, 50 * bs)                     # frees the tail: the indirect block changes
    other = fs.create(ROOT, 'g', 0o644)
    fs.write(other, 0, pattern(3 * bs))           # takes blocks the tail had
    fs.write(ino, 120 * bs, pattern(30 * bs, 1))  # a hole at 50..119, then new blocks
    assert expand(fs.file_runs(ino, 0, 150)) == one_by_one(fs, ino, 150)
    assert expand(fs.file_runs(ino, 30, 100)) == one_by_one(fs, ino, 150)[30:130]
    assert fs.read(ino, 0, 150 * bs) == pattern(200 * bs)[:50 * bs] + bytes(70 * bs) + pattern(30 * bs, 1)


def test_a_stretch_inside_one_run_is_clipped_from_it(fs):
    bs = fs.ext2.block_size
    ino = fs.create(ROOT, 'f', 0o644)
    fs.write(ino, 0, pattern(100 * bs))
    whole = one_by_one(fs, ino, 100)
    for first, count in ((12, 1), (13, 40), (40, 60), (99, 1)):
        assert expand(fs.file_runs(ino, first, count)) == whole[first:first + count]


def test_the_remembered_runs_are_bounded(fs):
    bs = fs.ext2.block_size
    ino = fs.create(ROOT, 'f', 0o644)
    ptrs = bs // 4
    fs.write(ino, 0, pattern(bs))
    for i in range(LEAF_MEMO + 8):                # each block in its own indirect block
        fs.write(ino, (12 + ptrs + i * ptrs) * bs, pattern(bs, i))
    for i in range(LEAF_MEMO + 8):
        lbn = 12 + ptrs + i * ptrs
        assert fs.file_runs(ino, lbn, 2) == [[one_by_one_at(fs, ino, lbn), 1], [0, 1]]
    assert len(fs.ext2._leaf_memo) <= LEAF_MEMO


def one_by_one_at(fs, ino, lbn):
    inode = run_sync(fs.ext2._iget(ino))
    return run_sync(fs.ext2._bmap(inode, lbn))[0]


# -- through the whole kernel: a guest reads a file in 1 MiB pieces -------------------------------

PAGE = 4096


def stamped(pages: int, seed: int = 0) -> bytes:
    """Pages whose first bytes differ (readall sums the first byte of every page)."""
    return b''.join(bytes([(i * 7 + seed) % 251 + 1]) * PAGE for i in range(pages))


def page_sum(data: bytes) -> int:
    return sum(data[i] for i in range(0, len(data), PAGE))


def write_files(image, pieces) -> None:
    """Write (name, offset, data) pieces into partition 1 in the order given, so the
    files' blocks interleave as their writes did."""
    from kernel.fs.blockdev import FileBlockDevice
    from kernel.tools.mkdisk import partition_offsets
    from kernel.fs.ext2 import Ext2
    start, _, _ = partition_offsets(image)[0]
    with FileBlockDevice(image, start, 4096) as dev:
        fs = Ext2(dev)
        run_sync(fs.mount())
        inos = {}
        for name, offset, data in pieces:
            if name not in inos:
                inos[name] = run_sync(fs.create(ROOT, name))
            run_sync(fs.write(inos[name], offset, data))
        run_sync(fs.unmount())


def read_in_pieces(image, path: str):
    """Boot, run readall on path in 1 MiB pieces; returns (its output, the sector
    counts of the DMA commands issued, the kernel)."""
    from conftest import boot
    kernel, out, log = boot(disk=image, mem=128 << 20)     # room for windows of 4 MiB
    issued = []
    kernel.trace.subscribe(lambda e: issued.append(e.args['sectors'])
                           if e.kind == 'dma' and e.args.get('phase') == 'issue' else None)
    kernel.spawn(kernel.read_guest_file(b'/tests/readall'), [b'readall', path.encode()], [])
    kernel.run()
    return out.decode(), issued, kernel


def test_readahead_windows_fall_into_step_with_the_runs_of_a_contiguous_file(disk):
    pages = 6 * 1024                              # 24 MiB: six indirect blocks' worth of 4 KiB blocks
    data = stamped(pages)
    write_files(disk, [('big', 0, data)])
    text, issued, kernel = read_in_pieces(disk, '/big')
    assert text.startswith(f'{len(data)} bytes, checksum {page_sum(data)}'), text
    data_commands = [s for s in issued if s >= 64]
    # the file is seven runs (the direct blocks, then one per indirect block); a window
    # across a break would make two commands of it, every window of 4 MiB
    assert len(data_commands) <= 7 + 3, str(issued)
    # whole runs of 1024 blocks, one command each, with the indirect block after them
    assert data_commands.count(1025 * 8) >= 4
    assert kernel.vmstat['readahead_wasted'] == 0


def test_a_file_with_a_hole_and_interleaved_blocks_reads_back_right(disk):
    mib = 256                                     # pages in a MiB
    a1, a2, a3 = stamped(mib, 1), stamped(3 * mib, 2), stamped(2 * mib + 17, 3)
    write_files(disk, [('a', 0, a1), ('b', 0, stamped(5, 9)),
                       ('a', 3 << 20, a2),        # a hole at 1..3 MiB
                       ('b', 5 * PAGE, stamped(40, 8)),
                       ('a', 6 << 20, a3)])       # after b's blocks: another run
    expected = a1 + bytes(2 << 20) + a2 + a3
    text, issued, kernel = read_in_pieces(disk, '/a')
    assert text.startswith(f'{len(expected)} bytes, checksum {page_sum(expected)}'), text
    text, _, _ = read_in_pieces(disk, '/b')
    assert text.startswith(f'{45 * PAGE} bytes, checksum {page_sum(stamped(5, 9) + stamped(40, 8))}'), text


# -- frame runs: the questions eviction asks of a buffer's frames, answered in C ----------------

def test_a_run_is_shared_or_pinned_if_any_one_frame_is():
    from emu.memory import PhysicalMemory
    from kernel.mm.frames import FrameAllocator
    frames = FrameAllocator(PhysicalMemory(2048 * PAGE), 0, 2048 * PAGE)
    run = frames.alloc_run(1024)
    assert not frames.any_shared(run, 1024) and not frames.any_pinned(run, 1024)
    last = run + 1023 * PAGE
    frames.share(last)
    assert frames.any_shared(run, 1024) and not frames.any_shared(run, 1023)
    frames.pin(last)
    assert frames.any_pinned(run, 1024) and not frames.any_pinned(run, 1023)
    frames.release(last)
    frames.release_run(run, 1024)                 # the pinned frame stays till unpinned
    assert frames.free_count == 2048 - 1
    frames.unpin(last)
    assert frames.free_count == 2048


# -- user copies: the runs behind a buffer are remembered by its leaf entries' bytes ------------

def test_copies_into_the_same_buffer_follow_a_page_whose_entry_changed(userland):
    from conftest import boot
    from kernel.mm.pagetable import ADDR_MASK
    from kernel.mm.vm import Region, Kind, Prot
    kernel, out, log = boot()
    p = kernel.spawn((userland / 'tests/memhog').read_bytes(), [b'memhog', b'1'], [])
    user = kernel.user(p)
    va = 0x7000_0000_0000 - 0x10_0000
    p.aspace.add(Region(va, va + 16 * PAGE, Prot.READ | Prot.WRITE, Kind.ANON))
    user.write(va, bytes(16 * PAGE))              # all sixteen pages present and dirty
    first = list(user.phys_runs(va, 16 * PAGE, True))
    assert first == list(user.phys_runs(va, 16 * PAGE, True))      # the same entries: the same runs
    pt = p.aspace.pt
    old = pt.lookup(va + 5 * PAGE)
    elsewhere = kernel.frames.alloc()             # page 5 moves to another frame
    pt.update(va + 5 * PAGE, elsewhere | (old & ~ADDR_MASK))
    runs = list(user.phys_runs(va, 16 * PAGE, True))
    assert (elsewhere, PAGE) in runs and len(runs) >= 3
    kernel.machine.memory.write(elsewhere, b'moved')
    assert user.read(va + 5 * PAGE, 5) == b'moved'
    pt.update(va + 5 * PAGE, old)                 # and back: the first runs again
    assert list(user.phys_runs(va, 16 * PAGE, True)) == first
    kernel.frames.release(elsewhere)
