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
