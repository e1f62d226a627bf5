"""ext2's orphan list and link calls on the host (ext2_links.py, ext2_attr.py): several
orphans chained through i_dtime, taken off from the middle, and freed at the next mount;
each image checked by e2fsck."""

from kernel.fs.ext2 import ROOT
from test_ext2 import Disk, make_image, pattern


def _orphans(disk) -> list[int]:
    chain, ino = [], disk.ext2.sb.s_last_orphan
    while ino:
        chain.append(ino)
        ino = disk._iget(ino).i_dtime
    return chain


def test_orphans_chain_and_leave_from_the_middle(tmp_path):
    disk = Disk(make_image(tmp_path / "fs.img"))
    free = disk.statfs().free_blocks
    open_inodes = set()
    disk.ext2.in_use = lambda ino: ino in open_inodes
    inos = []
    for i in range(3):
        ino = disk.create(ROOT, f"f{i}")
        disk.write(ino, 0, pattern(20000, i))
        open_inodes.add(ino)
        disk.unlink(ROOT, f"f{i}")
        inos.append(ino)
    assert _orphans(disk) == inos[::-1]                 # the newest orphan heads the list
    assert disk.read(inos[1], 0, 20000) == pattern(20000, 1)
    open_inodes.discard(inos[1])
    disk.release(inos[1])                               # from the middle of the chain
    assert _orphans(disk) == [inos[2], inos[0]]
    open_inodes.discard(inos[2])
    disk.release(inos[2])                               # from the head
    assert _orphans(disk) == [inos[0]]
    open_inodes.clear()
    disk.release(inos[0])
    assert _orphans(disk) == []
    assert disk.statfs().free_blocks == free
    disk.check()


def test_a_crash_leaves_orphans_that_the_next_mount_frees(tmp_path):
    path = make_image(tmp_path / "fs.img")
    disk = Disk(path)
    free = disk.statfs().free_blocks
    disk.ext2.in_use = lambda ino: True
    for i in range(2):
        ino = disk.create(ROOT, f"o{i}")
        disk.write(ino, 0, pattern(50000, i))
        disk.unlink(ROOT, f"o{i}")
    disk.sync()                                          # "crash": never released
    again = Disk(path)                                   # mount: recover_orphans
    assert again.ext2.sb.s_last_orphan == 0
    assert again.statfs().free_blocks == free
    again.check()


def test_link_and_attributes(tmp_path):
    disk = Disk(make_image(tmp_path / "fs.img"))
    ino = disk.create(ROOT, "a")
    disk.link(ino, ROOT, "b")
    assert disk.stat(ino).nlink == 2
    disk.set_attrs(ino, mode=0o600, uid=70000, gid=5, atime=1, mtime=2)
    st = disk.stat(ino)
    assert (st.mode & 0o7777, st.uid, st.gid, st.atime, st.mtime) == (0o600, 70000, 5, 1, 2)
    disk.unlink(ROOT, "a")
    assert disk.stat(ino).nlink == 1
    disk.check()
