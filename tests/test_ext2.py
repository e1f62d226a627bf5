"""Specification of kernel.fs.ext2 and kernel.tools.mkdisk, checked against e2fsprogs.

Each test builds a fresh file system with mke2fs in tmp_path, drives the ext2 code on the
host (FileBlockDevice + run_sync), and, after changing anything, asks `e2fsck -fn` whether
the image is still consistent and `debugfs` whether it sees what we wrote.
"""

import contextlib
import os
import shutil
import subprocess

import pytest

from kernel.errno import Errno
from kernel.fs.blockdev import FileBlockDevice, run_sync
from kernel.fs.ext2 import ROOT, Ext2, Ext2Error, FsError
from kernel.fs.ext2_layout import FileType, InodeType
from kernel.tools import mkdisk

E2FS_DIRS = ["/usr/sbin", "/sbin"]


def tool(name: str) -> str:
    path = shutil.which(name, path=os.pathsep.join(E2FS_DIRS + [os.environ.get("PATH", "")]))
    if path is None:
        pytest.skip(f"{name} (e2fsprogs) is not installed")
    return path


def make_image(path, block_size=1024, size_kib=16384, root=None, options=()):
    command = [tool("mke2fs"), "-q", "-F", "-t", "ext2", "-b", str(block_size), *options]
    if root is not None:
        command += ["-d", str(root)]
    subprocess.run(command + [str(path), f"{size_kib}k"], check=True, capture_output=True)
    return path


def fsck(path) -> str:
    result = subprocess.run([tool("e2fsck"), "-fn", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def debugfs(path, request: str) -> bytes:
    result = subprocess.run([tool("debugfs"), "-R", request, str(path)], capture_output=True)
    return result.stdout


class Disk:
    """A mounted test image whose Ext2 methods run to completion when called."""

    def __init__(self, path, now=lambda: 1_700_000_000, offset=0):
        self.path = path
        self.dev = FileBlockDevice(path, offset)
        self.ext2 = Ext2(self.dev, now=now)
        run_sync(self.ext2.mount())

    def __getattr__(self, name):
        method = getattr(self.ext2, name)
        return lambda *args, **kwargs: run_sync(method(*args, **kwargs))

    def statfs(self):
        return self.ext2.statfs()

    def check(self):
        """Sync, then require e2fsck to find nothing wrong."""
        run_sync(self.ext2.sync())
        return fsck(self.path)

    def cat(self, path) -> bytes:
        run_sync(self.ext2.sync())
        return debugfs(self.path, f"cat {path}")


@contextlib.contextmanager
def raises(errno):
    """Expect an FsError carrying this errno."""
    with pytest.raises(FsError) as info:
        yield
    assert info.value.errno == errno, f"got {info.value.errno!r}, want {errno!r}"


def pattern(length: int, seed: int = 0) -> bytes:
    """Bytes that differ from block to block, so misplaced blocks show."""
    return bytes((i * 7 + i // 1021 + seed) & 0xFF for i in range(length))


# Several block groups either way, so allocation has to cross groups.
GEOMETRIES = {"1k": (1024, ["-g", "2048"]), "4k": (4096, ["-g", "1024"])}


@pytest.fixture(params=GEOMETRIES.values(), ids=GEOMETRIES.keys())
def disk(request, tmp_path):
    block_size, options = request.param
    return Disk(make_image(tmp_path / "fs.img", block_size, options=options))


@pytest.fixture
def disk1k(tmp_path):
    return Disk(make_image(tmp_path / "fs.img", 1024))


@pytest.fixture
def populated(tmp_path):
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "motd").write_bytes(b"welcome to ukern\n")
    (root / "blob").write_bytes(pattern(300_000))
    os.symlink("etc/motd", root / "motd-link")
    return Disk(make_image(tmp_path / "fs.img", 1024, root=root))


# ---- reading what mke2fs made ------------------------------------------------------

def test_mount_reads_the_root_directory(disk):
    names = {name: kind for name, _, kind in disk.readdir(ROOT)}
    assert names == {".": FileType.DIR, "..": FileType.DIR, "lost+found": FileType.DIR}


def test_reads_files_that_mke2fs_put_there(populated):
    assert populated.read(populated.lookup("/etc/motd"), 0, 100) == b"welcome to ukern\n"
    assert populated.read(populated.lookup("blob"), 0, 400_000) == pattern(300_000)
    assert populated.read(populated.lookup("/blob"), 299_990, 100) == pattern(300_000)[299_990:]


def test_reads_a_symlink_target(populated):
    assert populated.readlink(populated.lookup("motd-link")) == b"etc/motd"


def test_lookup_resolves_relative_paths_and_dotdot(populated):
    etc = populated.lookup("/etc")
    assert populated.lookup("motd", etc) == populated.lookup("/etc/motd")
    assert populated.lookup("../etc/./motd", etc) == populated.lookup("/etc/motd")


def test_stat_reports_type_size_and_links(populated):
    blob = populated.stat(populated.lookup("/blob"))
    assert blob.mode & 0o170000 == InodeType.S_IFREG and blob.size == 300_000 and blob.nlink == 1
    etc = populated.stat(populated.lookup("/etc"))
    assert etc.mode & 0o170000 == InodeType.S_IFDIR and etc.nlink == 2


# ---- refusing what we cannot mount ---------------------------------------------------

def test_bad_magic_is_refused_with_a_clear_message(tmp_path):
    image = make_image(tmp_path / "fs.img")
    with open(image, "r+b") as f:
        f.seek(1024 + 56)
        f.write(b"\0\0")
    with pytest.raises(Ext2Error, match="bad magic"):
        Disk(image)


def test_corrupt_superblock_geometry_is_refused(tmp_path):
    image = make_image(tmp_path / "fs.img")
    with open(image, "r+b") as f:
        f.seek(1024 + 40)                      # s_inodes_per_group
        f.write(b"\0\0\0\0")
    with pytest.raises(Ext2Error, match="corrupt superblock"):
        Disk(image)


def test_ext4_features_are_refused(tmp_path):
    image = tmp_path / "ext4.img"
    subprocess.run([tool("mke2fs"), "-q", "-F", "-t", "ext4", str(image), "16M"], check=True,
                   capture_output=True)
    with pytest.raises(Ext2Error, match="unsupported incompatible features"):
        Disk(image)


def test_unknown_read_only_features_mount_read_only(tmp_path):
    image = make_image(tmp_path / "fs.img", options=["-O", "huge_file"])
    disk = Disk(image)
    assert disk.readdir(ROOT)
    with raises(Errno.EROFS):
        disk.create(ROOT, "f", 0o644)


# ---- files ---------------------------------------------------------------------------

def test_created_file_is_empty_and_stamped_with_the_clock(disk):
    ino = disk.create(ROOT, "new", 0o640, uid=1000, gid=100)
    st = disk.stat(ino)
    assert (st.size, st.nlink, st.mode, st.uid, st.gid) == (0, 1, InodeType.S_IFREG | 0o640, 1000, 100)
    assert st.mtime == st.ctime == 1_700_000_000
    disk.check()


def test_write_several_mib_and_read_back(disk):
    data = pattern(3 << 20)                   # 1 KiB blocks: reaches double-indirect blocks
    ino = disk.create(ROOT, "big", 0o644)
    assert disk.write(ino, 0, data) == len(data)
    assert disk.stat(ino).size == len(data)
    assert disk.read(ino, 0, len(data)) == data
    disk.check()
    assert disk.cat("/big") == data


def test_overwrite_in_the_middle_keeps_the_rest(disk):
    data = bytearray(pattern(100_000))
    ino = disk.create(ROOT, "f", 0o644)
    disk.write(ino, 0, bytes(data))
    disk.write(ino, 50_001, b"X" * 5000)
    data[50_001:55_001] = b"X" * 5000
    assert disk.read(ino, 0, 200_000) == data
    assert disk.stat(ino).size == 100_000
    disk.check()
    assert disk.cat("/f") == data


def test_write_past_end_leaves_a_hole_that_reads_as_zeros(disk):
    ino = disk.create(ROOT, "sparse", 0o644)
    disk.write(ino, 100_000, b"end")
    assert disk.read(ino, 0, 100_003) == bytes(100_000) + b"end"
    disk.check()


def test_a_whole_block_write_fills_the_holes_between_blocks_already_there(disk):
    bs = disk.statfs().block_size
    ino = disk.create(ROOT, "patchy", 0o644)
    for lbn in (20, 23, 24, 40):                  # scattered blocks under the indirect block
        disk.write(ino, lbn * bs, pattern(bs, seed=lbn))
    free = disk.statfs().free_blocks
    data = pattern(40 * bs, seed=99)              # blocks 10..49: over them and the holes
    assert disk.write(ino, 10 * bs, data) == len(data)
    assert disk.statfs().free_blocks == free - (40 - 4)   # only the holes took new blocks
    assert disk.read(ino, 10 * bs, len(data)) == data
    disk.check()


def test_far_sparse_write_uses_triple_indirect_blocks(disk1k):
    offset = 70 << 20                          # past 12 + 256 + 256**2 blocks of 1 KiB
    ino = disk1k.create(ROOT, "far", 0o644)
    free = disk1k.statfs().free_blocks
    disk1k.write(ino, offset, b"far away")
    assert disk1k.statfs().free_blocks == free - 4   # three indirect levels and the data
    assert disk1k.read(ino, offset - 2, 10) == b"\0\0far away"
    disk1k.check()
    disk1k.truncate(ino, 0)
    assert disk1k.statfs().free_blocks == free
    disk1k.check()


def test_truncate_frees_blocks_and_keeps_the_head(disk):
    data = pattern(2 << 20)
    ino = disk.create(ROOT, "t", 0o644)
    free = disk.statfs().free_blocks
    disk.write(ino, 0, data)
    disk.truncate(ino, 5000)
    assert disk.stat(ino).size == 5000
    assert disk.read(ino, 0, 10_000) == data[:5000]
    disk.check()
    assert disk.cat("/t") == data[:5000]
    disk.truncate(ino, 0)
    assert disk.statfs().free_blocks == free and disk.stat(ino).blocks == 0
    disk.check()


def test_truncate_then_grow_reads_zeros(disk):
    ino = disk.create(ROOT, "g", 0o644)
    disk.write(ino, 0, b"x" * 3000)
    disk.truncate(ino, 10)
    disk.truncate(ino, 3000)
    assert disk.read(ino, 0, 3000) == b"x" * 10 + bytes(2990)
    disk.check()


def test_file_operations_refuse_directories(disk):
    with raises(Errno.EISDIR):
        disk.write(ROOT, 0, b"x")
    with raises(Errno.EISDIR):
        disk.read(ROOT, 0, 1)


# ---- names and errors ------------------------------------------------------------------

def test_lookup_of_a_missing_name_is_ENOENT(disk):
    with raises(Errno.ENOENT):
        disk.lookup("/nothing/here")


def test_lookup_through_a_file_is_ENOTDIR(disk):
    disk.create(ROOT, "file", 0o644)
    with raises(Errno.ENOTDIR):
        disk.lookup("/file/x")


def test_creating_an_existing_name_is_EEXIST(disk):
    disk.create(ROOT, "dup", 0o644)
    with raises(Errno.EEXIST):
        disk.create(ROOT, "dup", 0o644)
    with raises(Errno.EEXIST):
        disk.mkdir(ROOT, "dup", 0o755)


def test_names_longer_than_255_bytes_are_ENAMETOOLONG(disk):
    disk.create(ROOT, "n" * 255, 0o644)
    with raises(Errno.ENAMETOOLONG):
        disk.create(ROOT, "n" * 256, 0o644)
    with raises(Errno.ENAMETOOLONG):
        disk.lookup("/" + "n" * 256)
    disk.check()


# ---- directories -------------------------------------------------------------------------

def test_mkdir_makes_dot_and_dotdot_and_counts_links(disk):
    root_links = disk.stat(ROOT).nlink
    d = disk.mkdir(ROOT, "d", 0o755)
    assert sorted(disk.readdir(d)) == [(".", d, FileType.DIR), ("..", ROOT, FileType.DIR)]
    assert disk.stat(d).nlink == 2 and disk.stat(ROOT).nlink == root_links + 1
    sub = disk.mkdir(d, "sub", 0o700)
    assert disk.lookup("/d/sub/..") == d and disk.stat(sub).mode == InodeType.S_IFDIR | 0o700
    disk.check()


def test_rmdir_removes_an_empty_directory(disk):
    root_links, free_inodes = disk.stat(ROOT).nlink, disk.statfs().free_inodes
    disk.mkdir(ROOT, "d", 0o755)
    disk.rmdir(ROOT, "d")
    with raises(Errno.ENOENT):
        disk.lookup("/d")
    assert disk.stat(ROOT).nlink == root_links and disk.statfs().free_inodes == free_inodes
    disk.check()


def test_rmdir_errors(disk):
    d = disk.mkdir(ROOT, "d", 0o755)
    disk.create(d, "f", 0o644)
    with raises(Errno.ENOTEMPTY):
        disk.rmdir(ROOT, "d")
    with raises(Errno.ENOTDIR):
        disk.rmdir(d, "f")
    with raises(Errno.ENOENT):
        disk.rmdir(ROOT, "missing")
    disk.check()


def test_unlink_frees_the_inode_and_its_blocks(disk):
    before = disk.statfs()
    ino = disk.create(ROOT, "f", 0o644)
    disk.write(ino, 0, pattern(500_000))
    disk.unlink(ROOT, "f")
    assert disk.statfs() == before
    with raises(Errno.ENOENT):
        disk.unlink(ROOT, "f")
    disk.check()


def test_unlink_of_a_directory_is_EISDIR(disk):
    disk.mkdir(ROOT, "d", 0o755)
    with raises(Errno.EISDIR):
        disk.unlink(ROOT, "d")


def test_directory_with_many_entries_spans_blocks_and_reuses_space(disk):
    d = disk.mkdir(ROOT, "many", 0o755)
    names = [f"entry-with-a-longish-name-{i:04d}" for i in range(400)]
    for name in names:
        disk.create(d, name, 0o644)
    assert disk.stat(d).size > disk.statfs().block_size
    assert sorted(n for n, _, _ in disk.readdir(d)) == sorted(names + [".", ".."])
    for name in names[::2]:
        disk.unlink(d, name)
    size = disk.stat(d).size
    for name in names[::2]:
        disk.create(d, name.upper(), 0o644)
    assert disk.stat(d).size == size           # the freed gaps took the new names
    assert len(disk.readdir(d)) == 402
    disk.check()
    assert b"ENTRY-WITH-A-LONGISH-NAME-0398" in debugfs(disk.path, "ls /many")


def test_hashed_directory_from_e2fsck_becomes_linear_when_changed(tmp_path):
    root = tmp_path / "root"
    (root / "big").mkdir(parents=True)
    for i in range(300):
        (root / "big" / f"file-{i:03d}").write_bytes(b"")
    image = make_image(tmp_path / "fs.img", 1024, root=root)
    subprocess.run([tool("e2fsck"), "-fyD", str(image)], capture_output=True)   # builds the index
    assert b"Flags: 0x1000" in debugfs(image, "stat /big")
    disk = Disk(image)
    big = disk.lookup("/big")
    for i in range(0, 300, 3):
        disk.unlink(big, f"file-{i:03d}")
    disk.create(big, "newcomer", 0o644)
    assert len(disk.readdir(big)) == 2 + 200 + 1
    disk.check()
    assert b"newcomer" in debugfs(image, "ls /big")


# ---- rename ----------------------------------------------------------------------------

def test_rename_moves_a_file_within_and_across_directories(disk):
    ino = disk.create(ROOT, "a", 0o644)
    disk.write(ino, 0, b"payload")
    disk.rename(ROOT, "a", ROOT, "b")
    d = disk.mkdir(ROOT, "d", 0o755)
    disk.rename(ROOT, "b", d, "c")
    assert disk.lookup("/d/c") == ino
    with raises(Errno.ENOENT):
        disk.lookup("/b")
    disk.check()
    assert disk.cat("/d/c") == b"payload"


def test_rename_replaces_an_existing_file(disk):
    before = disk.statfs().free_inodes
    src = disk.create(ROOT, "src", 0o644)
    disk.create(ROOT, "dst", 0o644)
    disk.rename(ROOT, "src", ROOT, "dst")
    assert disk.lookup("/dst") == src
    assert disk.statfs().free_inodes == before - 1
    disk.check()


def test_rename_moves_a_directory_and_fixes_dotdot_and_links(disk):
    a, b = disk.mkdir(ROOT, "a", 0o755), disk.mkdir(ROOT, "b", 0o755)
    moved = disk.mkdir(a, "moved", 0o755)
    disk.rename(a, "moved", b, "here")
    assert disk.lookup("/b/here/..") == b
    assert disk.stat(a).nlink == 2 and disk.stat(b).nlink == 3 and disk.stat(moved).nlink == 2
    disk.check()


def test_rename_directory_over_an_empty_directory(disk):
    a, b = disk.mkdir(ROOT, "a", 0o755), disk.mkdir(ROOT, "b", 0o755)
    src = disk.mkdir(a, "src", 0o755)
    disk.mkdir(b, "dst", 0o755)
    disk.rename(a, "src", b, "dst")
    assert disk.lookup("/b/dst") == src and disk.stat(b).nlink == 3 and disk.stat(a).nlink == 2
    disk.check()


def test_rename_errors(disk):
    d = disk.mkdir(ROOT, "d", 0o755)
    disk.mkdir(ROOT, "full", 0o755)
    disk.create(ROOT, "f", 0o644)
    disk.create(disk.lookup("/full"), "x", 0o644)
    with raises(Errno.ENOENT):
        disk.rename(ROOT, "missing", ROOT, "x")
    with raises(Errno.ENOTDIR):
        disk.rename(ROOT, "d", ROOT, "f")
    with raises(Errno.EISDIR):
        disk.rename(ROOT, "f", ROOT, "d")
    with raises(Errno.ENOTEMPTY):
        disk.rename(ROOT, "d", ROOT, "full")
    with raises(Errno.EINVAL):
        disk.rename(ROOT, "d", d, "inside")
    disk.check()


# ---- special files -------------------------------------------------------------------------

def test_mknod_makes_a_char_device_debugfs_can_see(disk):
    ino = disk.mknod(ROOT, "tty0", InodeType.S_IFCHR | 0o620, 4, 0)
    big = disk.mknod(ROOT, "big", InodeType.S_IFBLK | 0o600, 259, 300)
    assert (disk.stat(ino).rdev_major, disk.stat(ino).rdev_minor) == (4, 0)
    assert (disk.stat(big).rdev_major, disk.stat(big).rdev_minor) == (259, 300)
    disk.check()
    shown = debugfs(disk.path, "stat /tty0")
    assert b"character special" in shown and b"04:00" in shown
    assert ("tty0", ino, FileType.CHRDEV) in disk.readdir(ROOT)


def test_symlink_short_and_long(disk):
    short = disk.symlink(ROOT, "short", "/etc/motd")
    long_target = "/x" * 100
    long = disk.symlink(ROOT, "long", long_target)
    assert disk.readlink(short) == b"/etc/motd" and disk.readlink(long) == long_target.encode()
    disk.check()
    assert long_target.encode() in debugfs(disk.path, "stat /long") + debugfs(disk.path, "cat /long")


# ---- running out of space ----------------------------------------------------------------

def test_a_full_disk_gives_a_short_write_then_ENOSPC_and_stays_consistent(tmp_path):
    disk = Disk(make_image(tmp_path / "small.img", 1024, size_kib=200))
    ino = disk.create(ROOT, "fill", 0o644)
    data = pattern(400_000)
    written = disk.write(ino, 0, data)
    assert 0 < written < len(data) and disk.statfs().free_blocks == 0
    with raises(Errno.ENOSPC):
        disk.write(ino, written, b"more")
    with raises(Errno.ENOSPC):
        disk.mkdir(ROOT, "d", 0o755)
    assert disk.read(ino, 0, len(data)) == data[:written]
    disk.check()
    disk.unlink(ROOT, "fill")
    disk.check()


def test_running_out_of_inodes_is_ENOSPC(tmp_path):
    disk = Disk(make_image(tmp_path / "small.img", 1024, size_kib=200, options=["-N", "16"]))
    for i in range(disk.statfs().free_inodes):
        disk.create(ROOT, f"f{i}", 0o644)
    with raises(Errno.ENOSPC):
        disk.create(ROOT, "one-too-many", 0o644)
    disk.check()


# ---- the generator protocol ----------------------------------------------------------

class WaitingDevice(FileBlockDevice):
    """Like the kernel's AHCI device: every transfer first yields a wait object."""

    def read_block(self, blockno):
        yield ("dma", blockno)
        return (yield from super().read_block(blockno))

    def read_run(self, blockno, count):
        yield ("dma", blockno)
        return (yield from super().read_run(blockno, count))

    def write_block(self, blockno, data):
        yield ("dma", blockno)
        yield from super().write_block(blockno, data)

    def write_run(self, blockno, data):
        yield ("dma", blockno)
        yield from super().write_run(blockno, data)


def drive(gen):
    """A toy scheduler: count the waits, then hand back the result."""
    waits = 0
    try:
        while True:
            gen.send(None)
            waits += 1
    except StopIteration as done:
        return done.value, waits


def test_operations_wait_for_the_device_by_yielding(tmp_path):
    fs = Ext2(WaitingDevice(make_image(tmp_path / "fs.img")))
    _, waits = drive(fs.mount())
    assert waits > 0
    ino, _ = drive(fs.create(ROOT, "f", 0o644))
    drive(fs.write(ino, 0, b"hello"))
    assert drive(fs.read(ino, 0, 5))[0] == b"hello"


def test_run_sync_refuses_an_operation_that_waits(tmp_path):
    fs = Ext2(WaitingDevice(make_image(tmp_path / "fs.img")))
    with pytest.raises(RuntimeError, match="yielded"):
        run_sync(fs.mount())


# ---- mkdisk ---------------------------------------------------------------------------------

def test_make_disk_writes_an_mbr_with_ext2_and_object_store_partitions(tmp_path):
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "init").write_bytes(pattern(70_000))
    image = tmp_path / "disk.img"
    parts = mkdisk.make_disk(image, root, 64 << 20)
    assert parts == mkdisk.partition_offsets(image)
    (start, size, kind), (store_start, store_size, store_kind) = parts
    assert (start, kind, store_kind) == (2048 * 512, mkdisk.LINUX_TYPE, mkdisk.OBJECT_STORE_TYPE)
    assert store_size >= 1 << 20 and store_start + store_size == 64 << 20
    assert start + size <= store_start

    disk = Disk(image, offset=start)
    assert disk.read(disk.lookup("/bin/init"), 0, 100_000) == pattern(70_000)
    ino = disk.create(ROOT, "written-by-ukern", 0o644)
    disk.write(ino, 0, b"hi")
    run_sync(disk.ext2.sync())
    partition = tmp_path / "part1.img"
    with open(image, "rb") as src, open(partition, "wb") as dst:
        src.seek(start)
        dst.write(src.read(size))
    fsck(partition)
    assert debugfs(partition, "cat /written-by-ukern") == b"hi"


def test_mkdisk_command_line(tmp_path, capsys):
    root = tmp_path / "root"
    root.mkdir()
    assert mkdisk.main([str(tmp_path / "d.img"), "--root", str(root), "--size", "16M"]) == 0
    assert os.path.getsize(tmp_path / "d.img") == 16 << 20
    assert "partition 2: type 0xda" in capsys.readouterr().out
    assert mkdisk.parse_size("64M") == 64 << 20 and mkdisk.parse_size("1GiB") == 1 << 30
