"""The buffer cache's write order (kernel/fs/bcache.py), which ext2's crash rules rest on:
contents reach the disk before metadata, a write_ordered block is on the disk when the
call returns, and metadata is never changed under a write in flight (the DMA reads the
buffer when it ends, so the change would go to the disk early)."""

from test_bcache import System, make, root_dir  # noqa: F401  (root_dir is a fixture)


def on_disk(system: System, n: int) -> bytes:
    cache = system.cache
    per = cache.block_size // 512
    return system.image.read(cache.start_lba + n * per, per)


def spare_blocks(system: System, count: int) -> list[int]:
    """Blocks at the end of the file system, which nothing uses."""
    end = system.fs.sb.s_blocks_count
    return list(range(end - count, end))


def block(system: System, byte: int) -> bytes:
    return bytes([byte]) * system.cache.block_size


def submissions(system: System) -> list[tuple[int, bool]]:
    """Record (first block, metadata?) of every write the cache submits from now on."""
    cache, seen = system.cache, []
    submit = cache._submit

    def recording(buf, write):
        if write:
            seen.append((buf.n, buf.meta))
        return submit(buf, write)
    cache._submit = recording
    return seen


def test_sync_writes_the_contents_before_any_metadata(tmp_path, root_dir):
    system = System(make(tmp_path, root_dir))
    low, high = spare_blocks(system, 2)
    seen = submissions(system)
    system.run(system.cache.write_meta(low, block(system, 1)))     # first in block order
    system.run(system.cache.write_block(high, block(system, 2)))
    system.run(system.cache.sync())
    assert seen == [(high, False), (low, True)]


def test_writeback_holds_metadata_while_contents_are_dirty(tmp_path, root_dir):
    system = System(make(tmp_path, root_dir))
    meta, data = spare_blocks(system, 2)
    system.run(system.cache.write_meta(meta, block(system, 3)))
    system.run(system.cache.write_block(data, block(system, 4)))
    seen = submissions(system)
    system.cache.start_writeback()
    assert seen == [(data, False)]


def test_an_ordered_write_is_on_the_disk_with_the_contents_before_it(tmp_path, root_dir):
    system = System(make(tmp_path, root_dir))
    meta, data = spare_blocks(system, 2)
    system.run(system.cache.write_block(data, block(system, 5)))
    system.run(system.cache.write_ordered(meta, block(system, 6)))
    assert on_disk(system, data) == block(system, 5)
    assert on_disk(system, meta) == block(system, 6)


def test_metadata_waits_for_the_write_in_flight(tmp_path, root_dir):
    system = System(make(tmp_path, root_dir))
    (meta,) = spare_blocks(system, 1)
    cache = system.cache
    system.run(cache.write_meta(meta, block(system, 7)))
    cache.start_writeback()                                 # in flight: reads memory at its end
    assert not cache.page(meta).idle
    system.run(cache.write_meta(meta, block(system, 8)))
    assert on_disk(system, meta) == block(system, 7)        # the old version, whole
    system.run(cache.sync())
    assert on_disk(system, meta) == block(system, 8)
