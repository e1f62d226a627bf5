"""A sequential read() of a large file, as the disk benchmark does it: the indirect block a
readahead window runs into is read by the window's own command, and the buffers a stream
has read past are the first to make room (use-once), so a stream larger than the cache
neither stops for metadata nor pushes out a file that was read before it.  The same with
O_DIRECT: a read across an indirect block is one command (the block goes into the
driver's bit bucket), and a sequential reader has its block map read ahead."""

from conftest import boot
from test_bcache import System, make, root_dir  # noqa: F401  (root_dir is a fixture)
from test_readpath import page_sum, read_in_pieces, stamped, write_files

BLOCK_SECTORS = 4096 // 512


def test_a_window_reads_the_indirect_block_after_it_in_the_same_command(disk):
    pages = 6 * 1024                              # 24 MiB: six indirect blocks' worth
    data = stamped(pages)
    write_files(disk, [('big', 0, data)])
    text, issued, kernel = read_in_pieces(disk, '/big')
    assert text.startswith(f'{len(data)} bytes, checksum {page_sum(data)}'), text
    # a block alone is an indirect block read by itself: the reader stopped for it.  Once
    # the windows are whole runs, each indirect block comes with the run before it.
    first_run = next(i for i, sectors in enumerate(issued) if sectors >= 1024 * BLOCK_SECTORS)
    assert BLOCK_SECTORS not in issued[first_run:], str(issued)
    assert issued.count((1024 + 1) * BLOCK_SECTORS) >= 4     # a run and the block after it


def readall_counter(disk, *files):
    """Boot with a cache of about 16 MiB; returns readall(path): the blocks read from the
    disk while a guest reads path from start to end in 1 MiB pieces."""
    write_files(disk, [(name, 0, data) for name, data in files])
    kernel, out, _ = boot(disk=disk, mem=64 << 20)
    cache = kernel.vfs.root.fs.cache

    def readall(path: str) -> int:
        before = kernel.vmstat['cache_blocks_read']
        kernel.spawn(kernel.read_guest_file(b'/tests/readall'), [b'readall', path.encode()], [])
        kernel.run()
        data = dict(files)[path.lstrip('/')]
        assert f'{len(data)} bytes, checksum {page_sum(data)}' in out.decode().splitlines()[-1]
        return kernel.vmstat['cache_blocks_read'] - before
    return readall, cache


def test_a_stream_larger_than_the_cache_does_not_push_out_a_file_read_before_it(disk):
    large = stamped(6 * 1024, 2)                  # 24 MiB
    readall, cache = readall_counter(disk, ('small', stamped(256, 1)), ('large', large))
    assert cache.max_blocks * 4096 < len(large)
    assert readall('/small') >= 256
    assert readall('/large') >= 6 * 1024
    assert cache.evictions > 0
    assert readall('/small') == 0                 # all of it still cached


def test_a_file_read_twice_keeps_its_place_when_a_stream_goes_by(disk):
    readall, cache = readall_counter(disk, ('twice', stamped(1024, 1)), ('large', stamped(6 * 1024, 2)))
    assert readall('/twice') >= 1024              # 4 MiB: most of it read ahead
    assert readall('/twice') == 0                 # read again: used twice, kept
    readall('/large')
    assert readall('/twice') == 0


def test_a_failed_read_of_a_window_and_its_indirect_block_reads_both_again(tmp_path, root_dir):  # noqa: F811
    system = System(make(tmp_path, root_dir))
    ino = system.run(system.fs.lookup('/big'))
    bs = system.cache.block_size
    runs, _, _ = system.run(system.fs.read_runs(ino, 0, 12 * bs))      # the direct blocks
    first, count = runs[0]
    after = first + count                         # the indirect block, on a file written at once
    assert count > 2 and not system.cache.cached(after)
    system.image.bad_ranges.append((system.cache.start_lba + (first + 1) * bs // 512, 1))
    reads = system.cache.reads
    system.cache.prefetch_runs([(first, count)], readahead=True, metadata=[after])
    assert system.cache.reads == reads + 1        # one request for both
    held = system.run(system.cache.hold_runs([(after, 1)]))      # fails with the run: read alone
    system.cache.release(held.held)
    assert after not in system.cache.bad and first + 1 not in system.cache.bad
    on_disk = system.image.read(system.cache.start_lba + after * bs // 512, bs // 512)
    assert system.run(system.cache.read_block(after)) == on_disk
    assert system.run(system.cache.read_run(first + 2, count - 2)) == \
        (root_dir / 'big').read_bytes()[2 * bs:count * bs]


def test_only_what_readahead_brought_in_goes_first_once_read_past(tmp_path, root_dir):  # noqa: F811
    system = System(make(tmp_path, root_dir))
    cache = system.cache
    ino = system.run(system.fs.lookup('/big'))
    runs, _, _ = system.run(system.fs.read_runs(ino, 0, 12 * cache.block_size))
    first, count = runs[0]
    half = count // 2
    missed = system.run(cache.hold_runs([(first, half)]))              # read because wanted
    cache.prefetch_runs([(first + half, count - half)], readahead=True)
    ahead = system.run(cache.hold_runs([(first + half, count - half)]))
    cache.release(missed.held + ahead.held)
    cache.read_past(missed.held + ahead.held, first + count)
    lru = list(cache._lru.values())
    assert lru[0] is ahead.held[0]                # first to go
    assert lru[-1] is missed.held[0]              # read when wanted: keeps its place
    again = system.run(cache.hold_runs([(first + half, count - half)]))    # a second pass
    cache.release(again.held)
    cache.read_past(again.held, first + count)
    assert list(cache._lru.values())[-1] is ahead.held[0]                    # used twice: kept


# -- O_DIRECT: one command across an indirect block, and the block map read ahead ----------------

def direct_read(disk, monkeypatch, pages: int):
    """A guest reads a file of `pages` pages with O_DIRECT in 1 MiB pieces; returns (the
    sector counts of the DMA commands issued while it read, the block requests it waited
    for by their sector counts)."""
    from kernel.kernel import Kernel
    data = stamped(pages)
    write_files(disk, [('big', 0, data)])
    kernel, out, _ = boot(disk=disk, mem=64 << 20)
    waited = []
    block = Kernel._block

    def counting(self, p, on):
        name = getattr(on, 'name', '')
        if name.startswith('blk '):
            waited.append(int(name.rsplit('+', 1)[1]))
        return block(self, p, on)
    monkeypatch.setattr(Kernel, '_block', counting)
    issued = []
    kernel.trace.subscribe(lambda e: issued.append(e.args['sectors'])
                           if e.kind == 'dma' and e.args.get('phase') == 'issue' else None)
    kernel.spawn(kernel.read_guest_file(b'/tests/readmodes'), [b'readmodes', b'odirect', b'/big'], [])
    kernel.run()
    assert f'odirect: {len(data)} bytes, checksum {page_sum(data)}' in out.decode(), out.decode()
    return issued, waited


def test_a_direct_read_across_an_indirect_block_is_one_command(disk, monkeypatch):
    issued, _ = direct_read(disk, monkeypatch, 6 * 1024)         # 24 MiB, 24 reads
    data = [s for s in issued if s >= 8 * BLOCK_SECTORS]
    # a read whose blocks an indirect block splits in two runs reads that block too,
    # into the driver's bit bucket, rather than making two commands.  (The first read
    # makes two: its buffer's pages are not yet contiguous, and a command takes 128
    # pieces of memory at most.)
    assert len(data) <= 24 + 1, str(issued)
    assert data.count((256 + 1) * BLOCK_SECTORS) >= 4


def test_a_sequential_direct_reader_does_not_stop_for_the_block_map(disk, monkeypatch):
    _, waited = direct_read(disk, monkeypatch, 6 * 1024)
    # the indirect blocks are read ahead, two reads early: only the first one, before
    # the reader is known to be sequential, is waited for
    assert waited.count(BLOCK_SECTORS) <= 3, str(waited)      # (two of them load the program)


def test_discarded_sectors_go_to_the_bucket_and_the_rest_where_asked(tmp_path, root_dir):  # noqa: F811
    import pytest
    from kernel.dev.blk import BlockRequest
    system = System(make(tmp_path, root_dir))
    frames, mem, queue = system.kernel.frames, system.machine.memory, system.disk.queue
    a, b = frames.alloc(), frames.alloc()
    lba = system.cache.start_lba
    req = queue.submit(BlockRequest(system.disk, lba, 24, [(a, 4096), (None, 4096), (b, 4096)]))
    system.run(req.wait())
    assert not req.error
    assert mem.read(a, 4096) == system.image.read(lba, 8)
    assert mem.read(b, 4096) == system.image.read(lba + 16, 8)
    with pytest.raises(ValueError):               # nothing to write from
        queue.submit(BlockRequest(system.disk, lba, 8, [(None, 4096)], write=True))
    with pytest.raises(ValueError):               # a page at most (one PRD entry)
        queue.submit(BlockRequest(system.disk, lba, 16, [(None, 8192)]))
    frames.release(a)
    frames.release(b)


def test_a_bad_sector_in_a_discarded_block_does_not_fail_a_direct_read(tmp_path, root_dir):  # noqa: F811
    from kernel.fs import direct
    from kernel.mm.frames import PAGE_SIZE
    system = System(make(tmp_path, root_dir))
    cache, frames = system.cache, system.kernel.frames
    ino = system.run(system.fs.lookup('/big'))
    runs, _, size = system.run(system.fs.read_runs(ino, 0, 50_000))   # the indirect block
    (first, count), (after, more) = runs                               # lies between them
    assert after - (first + count) == 1
    system.image.bad_ranges.append((cache.start_lba + (first + count) * PAGE_SIZE // 512, 1))
    memory = [(frames.alloc(), PAGE_SIZE) for _ in range(count + more)]
    for frame, _ in memory:
        frames.pin(frame)
    assert system.run(direct._around_the_cache(system.kernel, cache, runs, memory, write=False)) == 0
    got = b''.join(system.machine.memory.read(frame, PAGE_SIZE) for frame, _ in memory)
    assert got[:size] == (root_dir / 'big').read_bytes()
    for frame, _ in memory:
        frames.unpin(frame)
        frames.release(frame)
