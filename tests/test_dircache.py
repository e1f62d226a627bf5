"""The ext2 name cache (kernel/fs/ext2_dirs.py): a directory's index of names and gaps
must say what its blocks say after every kind of change, and the disk stays what e2fsck
expects.

Host-side, like test_ext2.py: the ext2 code runs on an image file.  The check is always
the same: what the mounted Ext2 (with its cache) answers must equal what a fresh mount of
the same image (reading the blocks from scratch) answers, and e2fsck finds nothing wrong.
The guest-side test (fs_dcache.c) does the same through system calls, across a reboot.
"""

import random

from kernel.fs.ext2 import ROOT
from kernel.fs.ext2_dirs import DirIndex
from kernel.fs.ext2_layout import dir_records, record_room
from kernel.errno import Errno
from test_ext2 import Disk, debugfs, make_image, raises


def fresh(disk: Disk) -> Disk:
    """The same image mounted again: no cache, everything read from the disk."""
    disk.check()
    return Disk(disk.path)


def listing(disk: Disk, d: int) -> dict[str, int]:
    return {name: ino for name, ino, _ in disk.readdir(d)}


def assert_index_matches_disk(disk: Disk, d: int) -> None:
    """The cached index of directory d against its blocks, record by record."""
    index: DirIndex = disk.ext2._dir_indexes[d]
    inode = disk.ext2._inodes[d]
    names, gaps = {}, []
    for lbn in range(disk.stat(d).size // disk.ext2.block_size):
        _, block = disk._dir_block(inode, lbn)
        block_gaps = {}
        for offset, ino, rec_len, name_len in dir_records(block):
            if ino:
                names[bytes(block[offset + 8:offset + 8 + name_len])] = (ino, lbn, offset)
            room = record_room(ino, rec_len, name_len)
            if room >= 12:
                block_gaps[offset] = room
        gaps.append(block_gaps)
    assert index.names == names
    assert index.gaps == gaps
    assert index.room == [max(g.values(), default=0) for g in gaps]


def test_random_changes_keep_the_index_equal_to_the_blocks(tmp_path):
    disk = Disk(make_image(tmp_path / "fs.img", 1024, size_kib=32768))
    d = disk.mkdir(ROOT, "d", 0o755)
    other = disk.mkdir(ROOT, "other", 0o755)
    rng = random.Random(16)
    alive: dict[str, int] = {}
    for step in range(1500):
        op = rng.random()
        name = f"n{rng.randrange(400)}" + "x" * rng.randrange(40)     # lengths vary: gaps vary
        if op < 0.45:
            if name in alive:
                with raises(Errno.EEXIST):
                    disk.create(d, name, 0o644)
            else:
                alive[name] = disk.create(d, name, 0o644)
        elif op < 0.75 and alive:
            victim = rng.choice(sorted(alive))
            disk.unlink(d, victim)
            del alive[victim]
        elif op < 0.85 and alive:
            source = rng.choice(sorted(alive))
            ino = alive.pop(source)
            disk.rename(d, source, d, name)            # may replace an existing name
            alive[name] = ino
        elif op < 0.92 and alive:
            source = rng.choice(sorted(alive))
            if name not in alive:
                disk.link(alive[source], d, name)
                alive[name] = alive[source]
        elif alive:                                    # out to another directory and back
            source = rng.choice(sorted(alive))
            disk.rename(d, source, other, "visitor")
            disk.rename(other, "visitor", d, source)
        if step % 250 == 0:
            assert_index_matches_disk(disk, d)
    assert_index_matches_disk(disk, d)
    for name, ino in alive.items():
        assert disk.lookup(f"/d/{name}") == ino
    expected = dict(alive, **{".": d, "..": ROOT})
    assert listing(disk, d) == expected
    again = fresh(disk)
    assert listing(again, d) == expected
    assert all(again.lookup(f"/d/{name}") == ino for name, ino in alive.items())


def test_a_directory_grows_to_many_blocks_empties_and_refills_in_place(tmp_path):
    disk = Disk(make_image(tmp_path / "fs.img", 1024, size_kib=32768))
    d = disk.mkdir(ROOT, "big", 0o755)
    names = [f"file-{i:05d}" for i in range(3000)]
    for name in names:
        disk.create(d, name, 0o644)
    size = disk.stat(d).size
    assert size >= 50 * 1024                       # 3000 entries of 20 bytes: ~59 blocks
    for name in names:
        disk.unlink(d, name)
    assert listing(disk, d) == {".": d, "..": ROOT}
    assert_index_matches_disk(disk, d)
    for name in reversed(names):                   # every gap is found again, none wasted
        disk.create(d, name.upper(), 0o644)
    assert disk.stat(d).size == size
    assert_index_matches_disk(disk, d)
    for name in names[::2]:
        disk.unlink(d, name.upper())
    disk.mkdir(d, "sub", 0o755)
    with raises(Errno.ENOTEMPTY):
        disk.rmdir(ROOT, "big")
    again = fresh(disk)
    assert len(listing(again, d)) == 2 + 1500 + 1
    assert b"FILE-02999" in debugfs(disk.path, "ls /big")


def test_rmdir_and_a_reused_inode_number_start_a_new_index(tmp_path):
    disk = Disk(make_image(tmp_path / "fs.img", 1024))
    d = disk.mkdir(ROOT, "gone", 0o755)
    disk.create(d, "a", 0o644)
    disk.unlink(d, "a")
    disk.rmdir(ROOT, "gone")
    assert d not in disk.ext2._dir_indexes
    d2 = disk.mkdir(ROOT, "new", 0o755)            # likely the same inode number
    assert listing(disk, d2) == {".": d2, "..": ROOT}
    with raises(Errno.ENOENT):
        disk.lookup("/new/a")
    disk.check()


def test_the_index_is_dropped_under_memory_pressure_and_rebuilt(tmp_path):
    disk = Disk(make_image(tmp_path / "fs.img", 1024))
    d = disk.mkdir(ROOT, "d", 0o755)
    ino = disk.create(d, "kept", 0o644)
    assert disk.ext2._dir_indexes
    assert disk.ext2.drop_dir_cache(100) == 0      # host memory only: no frames come back
    assert not disk.ext2._dir_indexes
    assert disk.lookup("/d/kept") == ino
    disk.create(d, "more", 0o644)
    assert_index_matches_disk(disk, d)
    disk.check()


def test_a_directory_changed_behind_the_index_is_read_again(tmp_path):
    """Another writer (a second mount of the image) renames within the directory: the first
    mount's index is stale.  A change it makes through a stale entry or gap is checked
    against the block first, so it reads the directory again instead of corrupting it."""
    disk = Disk(make_image(tmp_path / "fs.img", 1024))
    d = disk.mkdir(ROOT, "d", 0o755)
    for i in range(40):
        disk.create(d, f"f{i:02d}", 0o644)
    disk.check()
    behind = Disk(disk.path)
    behind.rename(d, "f10", d, "moved-elsewhere-with-a-long-name")
    behind.rename(d, "f20", d, "f20-renamed")
    behind.check()
    with raises(Errno.ENOENT):
        disk.unlink(d, "f10")                      # its record is gone: the index is rebuilt
    assert disk.lookup("/d/moved-elsewhere-with-a-long-name")
    disk.create(d, "f20-again", 0o644)
    assert_index_matches_disk(disk, d)
    disk.check()


def test_too_many_names_evict_the_least_recently_used_directory(tmp_path, monkeypatch):
    from kernel.fs import ext2_dirs
    monkeypatch.setattr(ext2_dirs, "DCACHE_MAX_NAMES", 50)
    disk = Disk(make_image(tmp_path / "fs.img", 1024))
    a = disk.mkdir(ROOT, "a", 0o755)
    b = disk.mkdir(ROOT, "b", 0o755)
    for i in range(40):
        disk.create(a, f"a{i}", 0o644)
        disk.create(b, f"b{i}", 0o644)
    disk.ext2.drop_dir_cache()
    disk.lookup("/a/a1")                           # the root's index and a's: 47 names
    assert a in disk.ext2._dir_indexes
    disk.lookup("/b/b1")                           # b's 42 more push a's out, the oldest
    assert a not in disk.ext2._dir_indexes and b in disk.ext2._dir_indexes
    assert disk.lookup("/a/a39") and disk.lookup("/b/b39")
    with raises(Errno.ENOENT):
        disk.lookup("/a/b1")
    disk.check()
