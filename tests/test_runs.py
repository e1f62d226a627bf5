"""Reading in runs: the pieces that let a large read cost a few steps per run of blocks
instead of per block (frames in contiguous runs, vectored DMA, cache buffers spanning
runs, ext2 block runs, copies to the user a run at a time)."""

import array
import os

import pytest

from emu.disk_image import DiskImage
from emu.memory import PhysicalMemory
from kernel.fs.blockdev import run_sync
from kernel.fs.ext2 import ROOT
from kernel.fs.ext2_alloc import _add_pointer_runs
from kernel.mm.frames import FrameAllocator, PAGE_SIZE

from test_bcache import System, make, root_dir  # noqa: F401  (root_dir is a fixture)
from test_ext2 import GEOMETRIES, Disk, make_image, pattern


# -- frames ---------------------------------------------------------------------------------

def frames_of(nframes: int) -> FrameAllocator:
    return FrameAllocator(PhysicalMemory(nframes * PAGE_SIZE), 0, nframes * PAGE_SIZE)


def test_alloc_run_gives_the_lowest_contiguous_run():
    frames = frames_of(16)
    singles = [frames.alloc() for _ in range(4)]
    frames.release(singles[1])                    # a hole of one frame at frame 1
    run = frames.alloc_run(3)
    assert run == 4 * PAGE_SIZE                   # the hole is too small: the run comes after
    assert [frames.refs(run + i * PAGE_SIZE) for i in range(3)] == [1, 1, 1]
    assert frames.alloc() == 1 * PAGE_SIZE        # single frames still fill holes first


def test_alloc_run_is_none_when_memory_is_fragmented_not_full():
    frames = frames_of(8)
    taken = [frames.alloc() for _ in range(8)]
    for addr in taken[::2]:
        frames.release(addr)
    assert frames.free_count == 4
    assert frames.alloc_run(2) is None


def test_release_run_frees_unless_a_frame_is_shared():
    frames = frames_of(8)
    run = frames.alloc_run(4)
    frames.share(run + PAGE_SIZE)                 # mapped by someone: it must stay
    frames.release_run(run, 4)
    assert frames.free_count == 8 - 1
    assert frames.refs(run + PAGE_SIZE) == 1


def test_a_pinned_run_is_freed_when_unpinned():
    frames = frames_of(8)
    run = frames.alloc_run(4)
    frames.pin_run(run, 4)
    frames.pin_run(run, 2)                        # pinned twice: counts add up
    frames.release_run(run, 4)
    assert frames.free_count == 4                 # pinned frames do not go back yet
    frames.unpin_run(run, 2)
    assert frames.free_count == 4
    frames.unpin_run(run, 4)
    assert frames.free_count == 8


# -- the disk image: vectored DMA -------------------------------------------------------------

def test_read_into_scatters_sectors_over_the_buffers(tmp_path):
    image = DiskImage.create(tmp_path / 'd.img', 16)
    data = bytes(range(256)) * 8
    image.write(2, data[:2048])
    a, b = bytearray(512), bytearray(1536)
    image.read_into(2, [memoryview(a), memoryview(b)])
    assert bytes(a + b) == data[:2048]


def test_read_into_a_short_image_reads_zeros_past_its_end(tmp_path):
    path = tmp_path / 'd.img'
    image = DiskImage.create(path, 8)
    image.write(0, b'\x11' * 4096)
    os.truncate(path, 1024)                       # the file shrank under the disk
    buf = bytearray(b'\xff' * 2048)
    image.read_into(0, [memoryview(buf)])
    assert bytes(buf) == b'\x11' * 1024 + bytes(1024)


def test_write_from_gathers_the_buffers(tmp_path):
    image = DiskImage.create(tmp_path / 'd.img', 8)
    image.write_from(1, [memoryview(b'\x01' * 512), memoryview(b'\x02' * 1024)])
    assert image.read(1, 3) == b'\x01' * 512 + b'\x02' * 1024


# -- ext2: block runs ---------------------------------------------------------------------------

@pytest.fixture(params=GEOMETRIES.values(), ids=GEOMETRIES.keys())
def fs(request, tmp_path):
    block_size, options = request.param
    return Disk(make_image(tmp_path / 'fs.img', block_size, options=options))


def test_pointer_runs_split_at_gaps_and_holes():
    pointers = array.array('I', [10, 11, 12, 0, 0, 40, 41, 7, 8])
    runs = []
    _add_pointer_runs(runs, pointers, 0, len(pointers))
    assert runs == [[10, 3], [0, 2], [40, 2], [7, 2]]


def test_block_runs_agree_with_the_block_map(fs):
    ino = fs.create(ROOT, 'f', 0o644)
    bs = fs.ext2.block_size
    fs.write(ino, 0, pattern(20 * bs))
    other = fs.create(ROOT, 'g', 0o644)
    fs.write(other, 0, pattern(bs))               # interleaves another file's block
    fs.write(ino, 40 * bs, pattern(300 * bs))     # a hole at 20..39, then more blocks
    inode = run_sync(fs.ext2._iget(ino))
    blocks = [run_sync(fs.ext2._bmap(inode, lbn))[0] for lbn in range(340)]   # one by one
    expanded = []
    for first, count in fs.file_runs(ino, 0, 340):
        expanded += list(range(first, first + count)) if first else [0] * count
    assert expanded == blocks
    assert blocks[20:40] == [0] * 20 and all(blocks[:20]) and all(blocks[40:])


# -- the buffer cache: runs -----------------------------------------------------------------------

def read_file_runs(system, path):
    ino = system.run(system.fs.lookup(path))
    size = system.run(system.fs.stat(ino)).size
    runs, skip, n = system.run(system.fs.read_runs(ino, 0, size))
    segments = system.run(system.cache.hold_runs(runs))
    return runs, segments.window(skip, n)


def test_a_run_of_blocks_is_one_request_and_one_buffer(tmp_path, root_dir):  # noqa: F811
    system = System(make(tmp_path, root_dir))
    runs, segments = read_file_runs(system, '/big')
    data_runs = [r for r in runs if r[0]]
    assert system.cache.reads - 0 >= len(data_runs)
    requests = [e for e in system.events if e.args['phase'] == 'issue'
                and e.args['lba'] == system.cache.start_lba + data_runs[0][0] * 8]
    assert len(requests) == 1 and requests[0].args['sectors'] == data_runs[0][1] * 8
    mem = system.machine.memory
    assert b''.join(mem.read(a, n) for a, n in segments) == (root_dir / 'big').read_bytes()
    system.cache.release(segments.held)


def test_held_buffers_survive_a_shrink(tmp_path, root_dir):  # noqa: F811
    system = System(make(tmp_path, root_dir))
    _, segments = read_file_runs(system, '/big')
    assert system.cache.shrink(10_000) == 0 or all(b.n in system.cache._lru for b in segments.held)
    mem = system.machine.memory
    assert b''.join(mem.read(a, n) for a, n in segments) == (root_dir / 'big').read_bytes()
    system.cache.release(segments.held)
    system.cache.shrink(10_000)
    assert not any(system.cache.cached(b.n) for b in segments.held)


def test_writing_one_block_of_a_run_writes_the_run_back(tmp_path, root_dir):  # noqa: F811
    path = make(tmp_path, root_dir)
    system = System(path)
    runs, segments = read_file_runs(system, '/big')
    system.cache.release(segments.held)
    first, count = runs[0]
    bs = system.cache.block_size
    system.run(system.cache.write_block(first + 1, b'\x77' * bs))
    assert system.cache.dirty_count == count      # the buffer is dirty as a whole
    system.cache.flush()
    with open(path, 'rb') as f:
        f.seek((system.cache.start_lba * 512) + (first + 1) * bs)
        assert f.read(bs) == b'\x77' * bs


def test_the_block_index_finds_buffers_by_any_of_their_blocks():
    from kernel.fs.bcache import BlockIndex, Buffer
    index = BlockIndex()
    a, b = Buffer(4096, 10, 5, 0, 5), Buffer(4096, 40, 1, 0x5000, 1)   # blocks 10..14 and 40
    index.add(b)
    index.add(a)
    assert [index.get(n) for n in (9, 10, 14, 15, 40, 41)] == [None, a, a, None, b, None]
    assert index.overlapping(12, 41) == [a, b] and index.overlapping(15, 40) == []
    assert index.next_cached(0, 100) == 10 and index.next_cached(15, 100) == 40
    assert index.next_cached(15, 30) == 30 and index.next_cached(12, 30) == 12
    index.remove(a)
    assert index.get(12) is None and index.blocks == 1


# -- writing in runs ------------------------------------------------------------------------------

def test_clear_run_finds_the_first_free_stretch_and_caps_it():
    from kernel.fs.ext2_layout import clear_run
    bits = 0b1111_0000_0011                       # bits 2..7 clear, the rest of 12 set
    assert clear_run(bits, 0, 12, 100) == (2, 6)
    assert clear_run(bits, 4, 12, 100) == (4, 4)
    assert clear_run(bits, 0, 12, 3) == (2, 3)
    assert clear_run(bits, 0, 6, 100) == (2, 4)   # the limit ends the run
    assert clear_run(0xFFF, 0, 12, 1) == (-1, 0)


class CountingDevice:
    """A host block device that counts the calls a file system makes."""

    def __init__(self, dev):
        self.dev, self.calls = dev, []
        self.block_size = dev.block_size

    def __getattr__(self, name):
        method = getattr(self.dev, name)
        if name in ('read_block', 'read_run', 'write_block', 'write_run'):
            def counted(*args):
                self.calls.append(name)
                return method(*args)
            return counted
        return method

    def __setattr__(self, name, value):
        super().__setattr__(name, value)
        if name == 'block_size' and 'dev' in self.__dict__:
            self.dev.block_size = value


@pytest.mark.parametrize('block_size', [1024, 4096])
def test_a_large_write_allocates_a_run_and_writes_it_in_one_go(tmp_path, block_size):
    from kernel.fs.blockdev import FileBlockDevice
    from kernel.fs.ext2 import Ext2
    path = make_image(tmp_path / 'fs.img', block_size)
    counting = CountingDevice(FileBlockDevice(path))
    fs = Ext2(counting)
    run_sync(fs.mount())
    ino = run_sync(fs.create(ROOT, 'big', 0o644))
    blocks = 200                                   # past the 12 direct blocks, within one indirect
    data = pattern(blocks * block_size)
    counting.calls.clear()
    assert run_sync(fs.write(ino, 0, data)) == len(data)
    # 12 direct blocks one by one, then the rest: one leaf rewrite, one bitmap rewrite, one run
    assert counting.calls.count('write_run') <= 12 + 1
    assert counting.calls.count('write_block') < 30, counting.calls
    runs = run_sync(fs.file_runs(ino, 0, blocks))
    assert len(runs) <= 2                          # contiguous, bar the indirect block between
    assert run_sync(fs.read(ino, 0, len(data))) == data
    run_sync(fs.sync())
    counting.dev.close()
    Disk(path).check()


def test_new_blocks_written_in_a_run_share_one_buffer_and_one_write_request(tmp_path, root_dir):  # noqa: F811
    system = System(make(tmp_path, root_dir))
    cache, bs = system.cache, system.cache.block_size
    first = cache.nsectors // (bs // 512) - 300   # blocks near the end: free, not cached
    system.run(cache.write_run(first, bytes([7]) * (256 * bs)))
    assert cache.dirty_count == 256 and len(cache._dirty) == 1
    system.events.clear()
    cache.flush()
    writes = [e for e in system.events if e.args['phase'] == 'issue' and e.args['sectors']]
    assert len(writes) == 1 and writes[0].args['sectors'] == 256 * bs // 512
    with open(system.image.path, 'rb') as f:
        f.seek(cache.start_lba * 512 + first * bs)
        assert f.read(256 * bs) == bytes([7]) * (256 * bs)


def test_a_run_written_over_cached_blocks_overwrites_them_in_place(tmp_path, root_dir):  # noqa: F811
    system = System(make(tmp_path, root_dir))
    cache, bs = system.cache, system.cache.block_size
    first = cache.nsectors // (bs // 512) - 300
    system.run(cache.write_run(first, bytes([1]) * (10 * bs)))
    cached = cache.page(first)
    system.run(cache.write_run(first + 5, bytes([2]) * (10 * bs)))
    assert cache.page(first + 9) is cached                  # the same buffer, rewritten
    assert cache.page(first + 10) is not cached and cache.dirty_count == 15
    assert cache.page(first + 10) is cache.page(first + 14)  # the new stretch: one buffer
    cache.flush()
    with open(system.image.path, 'rb') as f:
        f.seek(cache.start_lba * 512 + first * bs)
        assert f.read(15 * bs) == bytes([1]) * (5 * bs) + bytes([2]) * (10 * bs)


# -- read() into the user's memory ------------------------------------------------------------------

def file_pattern(size: int) -> bytes:
    return bytes((i // 4096 * 7 + i) & 0xFF for i in range(size))


def test_read_into_memory_shared_copy_on_write(disk):
    from conftest import put_file, run_on_disk
    put_file(disk, '/data', file_pattern(64 * 1024))
    r = run_on_disk(disk, '/tests/readcow', '/data')
    assert r.status == 0, r.output.decode()
    assert b'(readcow) end' in r.output


def test_a_large_read_lands_in_a_fresh_buffer_whole(disk):
    from conftest import put_file, run_on_disk
    data = file_pattern(3 << 20)
    put_file(disk, '/data', data)
    r = run_on_disk(disk, '/tests/readall', '/data')
    checksum = sum(data[i] for i in range(0, len(data), 4096))
    assert r.output == f'{len(data)} bytes, checksum {checksum}\n'.encode()
    assert r.kernel.vmstat['copy_bytes'] >= len(data)


def test_user_runs_follow_the_frames_and_stop_at_a_page_not_ready():
    from kernel.mm.uaccess import _contiguous_ready
    ready = 0x7                                   # P | W | U
    a, b = 0x10_0000 | ready, 0x20_0000 | ready
    ptes = [a, b, b + 0x1000, b + 0x2000, 0x30_0000, b + 0x4000]
    assert _contiguous_ready(ptes, ready) == [(0, 1), (1, 3)]      # entry 4 lacks P|W|U
    assert _contiguous_ready([a + 0x1000 * i for i in range(512)], ready) == [(0, 512)]


def test_leaf_entries_are_read_as_low_halves_only_when_that_loses_nothing():
    from kernel.mm.uaccess import _entries
    nx, present = 1 << 63, 0x10_0007
    mem = PhysicalMemory(2 * PAGE_SIZE)
    mem.words[0:3] = array.array('Q', [nx | present, nx | present + 0x1000, nx | present + 0x2000])
    assert _entries(mem, 0, 3) == [present, present + 0x1000, present + 0x2000]   # NX alike
    mem.words[1] = 0                              # an empty entry among NX ones: whole entries
    assert _entries(mem, 0, 3) == [nx | present, 0, nx | present + 0x2000]
    mem.words[1] = (1 << 32) | present + 0x1000   # a frame above 4 GiB: whole entries
    assert _entries(mem, 0, 3)[1] == (1 << 32) | present + 0x1000
    assert _entries(mem, None, 3) == [0]          # no leaf table: one empty entry


def test_a_bad_block_fails_alone_not_its_whole_run(tmp_path, root_dir):  # noqa: F811
    from kernel.errno import Errno
    from kernel.fs.ext2 import FsError
    system = System(make(tmp_path, root_dir))
    ino = system.run(system.fs.lookup('/big'))
    runs, _, _ = system.run(system.fs.read_runs(ino, 0, 50_000))
    first, count = runs[0]
    assert count > 4
    bs = system.cache.block_size
    system.image.bad_ranges.append((system.cache.start_lba + (first + 2) * bs // 512, 1))
    with pytest.raises(FsError) as info:                           # the whole run: EIO
        system.run(system.cache.hold_runs([(first, count)]))
    assert info.value.errno == Errno.EIO
    system.cache.prefetch_runs([(first, count)], readahead=True)   # one read, bad block inside
    after = system.run(system.cache.hold_runs([(first + 3, count - 3)]))   # wants none of it
    mem = system.machine.memory
    assert b''.join(mem.read(a, n) for a, n in after) == (root_dir / 'big').read_bytes()[3 * bs:count * bs]
    system.cache.release(after.held)
    assert all(not b.users for b in system.cache._lru.values())


def test_a_mapped_file_with_a_bad_block_faults_on_that_page_alone(disk):
    from conftest import boot, put_file
    from kernel.tools.mkdisk import partition_offsets
    from kernel.fs.blockdev import FileBlockDevice
    from kernel.fs.ext2 import Ext2
    put_file(disk, '/data', bytes(i & 0xFF for i in range(8 * 4096)))
    start, _, _ = partition_offsets(disk)[0]             # in bytes
    with FileBlockDevice(disk, start, 4096) as dev:
        fs = Ext2(dev)
        run_sync(fs.mount())
        block = run_sync(fs.file_blocks(run_sync(fs.lookup('/data')), 5, 1))[0]
    kernel, out, _ = boot(disk=disk)
    kernel.machine.ahci.ports[0].disk.bad_ranges.append(((start + block * 4096) // 512, 1))
    p = kernel.spawn(kernel.read_guest_file(b'/tests/mmapbad'), [b'mmapbad', b'/data', b'8', b'5'], [])
    kernel.run()
    assert p.exit_status == 0, bytes(out).decode()
    assert b'(mmapbad) end' in bytes(out)


def test_readahead_with_no_free_frame_is_skipped_not_an_error(tmp_path, root_dir):  # noqa: F811
    system = System(make(tmp_path, root_dir))
    frames = system.kernel.frames
    ino = system.run(system.fs.lookup('/big'))
    runs = system.run(system.fs.file_runs(ino, 0, 12))
    hog = []
    while frames.free_count:
        hog.append(frames.alloc(zero=False))
    assert system.cache.prefetch_runs(runs, readahead=True) == 0
    for f in hog:
        frames.release(f)
    assert system.cache.prefetch_runs(runs, readahead=True) == 12
