"""ext2 after a crash: the clean/not-clean superblock state, the mount-time check and
repair (kernel/fs/ext2_check.py), and the crash sweep (bench/crash.py: the power cut at
200 disk transfers of /tests/crashload, each disk then checked by e2fsck -p, e2fsck -fn,
debugfs and by booting ukern on it).  `make crash` runs the same sweep and writes
bench/CRASH.md."""

import subprocess
import sys
from pathlib import Path

import pytest

from kernel.fs import blockdev as crash_blockdev
from kernel.fs import ext2 as crash_ext2
from kernel.fs.ext2 import ROOT
from kernel.fs.ext2_layout import FileType, InodeType, State
from test_ext2 import GEOMETRIES, Disk, fsck, make_image, pattern

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import crash  # noqa: E402

SWEEP_POINTS = 200       # about two minutes on a loaded 2-core machine: in make test


# ---- the superblock's state ------------------------------------------------------------

def test_mounting_marks_not_clean_and_unmounting_clean(tmp_path):
    path = make_image(tmp_path / 'fs.img')
    disk = Disk(path)
    assert Disk(path).ext2.sb.s_state & State.VALID == 0       # on the disk while mounted
    disk.unmount()
    clean = Disk(path)
    assert clean.ext2.repaired is None                          # clean: no check
    clean.unmount()
    fsck(path)
    Disk(path)                                                  # mounted, never unmounted
    assert Disk(path).ext2.repaired == 'checked after a crash: nothing to fix'


def test_a_cut_leaves_not_clean_and_the_next_boot_repairs(disk, tmp_path):
    run = crash.run_guest(disk, [crash.WORKLOAD], power_fail=60)
    assert run.cut
    part = crash.partition(disk, tmp_path / 'p1.img')
    assert b'not clean' in subprocess.run(['dumpe2fs', '-h', str(part)], capture_output=True).stdout
    again = crash.run_guest(disk, [b'/bin/ls', b'/crash'])
    assert again.status == 0
    assert any('checked after a crash' in line for line in again.log), again.log
    assert crash.e2fsck('-fn', crash.partition(disk, part)).returncode == 0


# ---- the repair, on the host ------------------------------------------------------------

@pytest.fixture(params=GEOMETRIES.values(), ids=GEOMETRIES.keys())
def damaged(request, tmp_path):
    """A file system mounted and changed the way a cut can leave it, never unmounted:
    an entry naming a deleted inode, an inode no entry names, leaked blocks, a deleted
    inode dated like an orphan-list link, and a wrong link count."""
    block_size, options = request.param
    path = make_image(tmp_path / 'fs.img', block_size, options=options)
    disk = Disk(path)
    kept = disk.create(ROOT, 'kept')
    disk.write(kept, 0, pattern(70_000, 1))
    dead = disk.create(ROOT, 'dead')
    disk.write(dead, 0, pattern(9_000, 2))
    inode = disk._iget(dead)
    inode.i_links_count, inode.i_dtime = 0, 1_700_000_000       # deleted, entry still there
    disk._write_inode(dead)
    unnamed, inode = disk._new_inode(ROOT, InodeType.S_IFREG | 0o644, 0, 0)
    inode.i_links_count = 1                                     # created, never named
    disk._write_inode(unnamed, clear_slot=True)
    disk._alloc_blocks(0, 7)                                    # leaked
    refugee, inode = disk._new_inode(ROOT, InodeType.S_IFREG | 0o644, 0, 0)
    inode.i_dtime = 5                       # deleted while an orphan-list link: a broken list
    disk._write_inode(refugee, clear_slot=True)
    inode = disk._iget(kept)
    inode.i_links_count = 3
    disk._write_inode(kept)
    disk.sync()
    return path, kept


def test_the_mount_time_check_repairs_what_a_crash_leaves(damaged):
    path, kept = damaged
    result = subprocess.run(['e2fsck', '-fn', str(path)], capture_output=True)
    assert result.returncode == 4                               # e2fsck sees the damage too
    disk = Disk(path)
    summary = disk.ext2.repaired
    for fixed in ('dangling entries 1', 'unnamed inodes 1', 'undated inodes 1', 'link counts 1',
                  'free counts'):
        assert fixed in summary, summary
    assert [name for name, _, _ in disk.readdir(ROOT)].count('dead') == 0
    assert disk.read(kept, 0, 70_000) == pattern(70_000, 1)
    disk.unmount()
    fsck(path)


def test_a_check_that_finds_more_than_a_crash_mounts_read_only(tmp_path):
    path = make_image(tmp_path / 'fs.img')
    disk = Disk(path)
    sub = disk.mkdir(ROOT, 'sub')
    disk._add_entry(ROOT, disk._iget(ROOT), b'again', sub, FileType.DIR)   # two names
    disk.sync()
    again = Disk(path)
    assert again.ext2.readonly
    assert 'mounted read-only' in again.ext2.repaired


# ---- the sweep ---------------------------------------------------------------------------

def test_the_crash_sweep_finds_nothing(master_image):
    """SWEEP_POINTS cut points spread over a whole run of the workload: after each, the
    disk is repaired by e2fsck -p without questions and by ukern's own check, and every
    file reported durable before the cut has its synced contents."""
    total, chosen, failures = crash.sweep(master_image, SWEEP_POINTS)
    assert total > SWEEP_POINTS and len(chosen) == SWEEP_POINTS
    assert not failures, '\n'.join(f'cut at {p}: {probs}' for p, probs in failures.items())


def test_the_sweep_sees_a_file_that_lost_its_synced_contents():
    """The checker itself: a file shorter than promised, or with other bytes, is caught."""
    files = crash.durable_files('durable /a 3 %d\nprefix /b 2 %d\ngone /c\n' % (
        crash.fnv1a(b'abc'), crash.fnv1a(b'xy')))
    assert crash.matches(b'abc', *files['/a'])
    assert not crash.matches(b'abd', *files['/a'])
    assert not crash.matches(b'abcd', *files['/a'])
    assert crash.matches(b'xyz', *files['/b'])
    assert not crash.matches(None, *files['/b'])


# ---- torn directory writes -----------------------------------------------------------------

class RecordingDevice(crash_blockdev.FileBlockDevice):
    """Remembers every version of every block written, in order."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.versions: dict[int, list[bytes]] = {}

    def write_block(self, blockno, data):
        self.versions.setdefault(blockno, []).append(bytes(data))
        yield from super().write_block(blockno, data)


def live_records(block: bytes) -> set[tuple[int, bytes]]:
    from kernel.fs.ext2_layout import dir_records
    return {(ino, block[offset + 8:offset + 8 + name_len])
            for offset, ino, _, name_len in dir_records(block) if ino}


def test_a_torn_directory_write_leaves_only_whole_entries(tmp_path):
    """Power fails while a directory block is written: whatever whole sectors of the new
    version reached the disk, over the old one, the block still parses and names only
    entries that one of the two versions has (ext2_dirs.py writes twice when needed)."""
    path = make_image(tmp_path / 'fs.img', 4096)
    dev = RecordingDevice(path, 0, 4096)
    disk = Disk.__new__(Disk)
    disk.path, disk.dev = path, dev
    disk.ext2 = crash_ext2.Ext2(dev, now=lambda: 1_700_000_000)
    crash_blockdev.run_sync(disk.ext2.mount())
    dev.versions.clear()
    for i in range(120):                        # long names: entries cross sector boundaries
        disk.create(ROOT, f'entry-{i:03}-' + 'x' * (i % 40))
    root_block = disk._dir_block(disk._iget(ROOT), 0)[0]
    versions = dev.versions[root_block]
    assert len(versions) > 100                  # one write or two per entry in this block
    for old, new in zip(versions, versions[1:]):
        for sectors in range(0, 9):
            torn = new[:sectors * 512] + old[sectors * 512:]
            assert live_records(torn) <= live_records(old) | live_records(new)


def test_ukern_run_says_in_one_line_that_it_repaired_the_disk(disk):
    ukern = [sys.executable, '-m', 'kernel', 'run', '--disk', str(disk)]
    cut = subprocess.run(ukern + ['--power-fail', '100', '/tests/crashload'], capture_output=True,
                         text=True, timeout=120)
    assert cut.returncode == 3, cut.stderr
    again = subprocess.run(ukern + ['/bin/ls', '/crash'], capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    said = [line for line in again.stderr.splitlines() if 'checked after a crash' in line]
    assert len(said) == 1 and said[0].startswith('ukern: /dev/'), again.stderr
