"""File-system calls on ext2 and the file semantics programs rely on: symbolic and hard
links, an open file outliving its name (the orphan list), metadata calls, locks, sendfile,
sparse-file seeking and Linux's errno values.  Each guest program (userland/tests/fs_*.c)
checks one behaviour on a fresh disk; the host then checks the image with e2fsck and
debugfs."""

import struct
import subprocess

import pytest

from conftest import GUEST_ROOT, fsck, partition1, run_on_disk
from test_programs import passed


def _fs_test(disk, name, *args, **kw):
    r = run_on_disk(disk, f'/tests/{name}', *args, **kw)
    passed(r, name)
    clean = fsck(disk)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    return r


def _debugfs(image, request: str) -> str:
    part = partition1(image, image.with_suffix('.p1'))
    r = subprocess.run(['debugfs', '-R', request, str(part)], capture_output=True, text=True)
    return r.stdout


def _superblock(image):
    """(free blocks, free inodes, s_last_orphan) read straight from partition 1."""
    part = partition1(image, image.with_suffix('.sb'))
    raw = part.read_bytes()[1024:2048]
    free_blocks, free_inodes = struct.unpack_from('<II', raw, 12)
    last_orphan, = struct.unpack_from('<I', raw, 232)
    return free_blocks, free_inodes, last_orphan


def test_symlinks_fast_and_slow_round_trip(disk):
    _fs_test(disk, 'fs_symlink')
    slow = _debugfs(disk, 'stat /slow')
    assert 'Type: symlink' in slow and 'BLOCKS:' in slow      # a slow link owns a data block
    fast = _debugfs(disk, 'stat /dangling')
    assert 'Fast link dest: "nowhere"' in fast


def test_hard_links_count_names(disk):
    _fs_test(disk, 'fs_hardlink')
    assert 'Links: 1' in _debugfs(disk, 'stat /d/c')


def test_unlinked_open_file_keeps_its_data_until_last_close(disk):
    _fs_test(disk, 'fs_unlink_open')


def test_orphan_left_by_a_crash_is_freed_at_the_next_mount(disk):
    before = _superblock(disk)
    r = run_on_disk(disk, '/tests/fs_orphan')
    assert '(fs_orphan) waiting forever' in r.text, r.text
    free_blocks, free_inodes, last_orphan = _superblock(disk)
    assert last_orphan != 0                                 # the inode waits on the list
    assert free_blocks < before[0] - 64 and free_inodes == before[1] - 1
    r = run_on_disk(disk, '/bin/true')                      # mount again: the orphan goes
    assert r.status == 0
    assert _superblock(disk) == before
    clean = fsck(disk)
    assert clean.returncode == 0, clean.stdout + clean.stderr


def test_no_new_names_in_a_removed_directory(disk):
    _fs_test(disk, 'fs_rmdir_cwd')


def test_readdir_while_removing_visits_every_entry(disk):
    _fs_test(disk, 'fs_readdir_unlink')


def test_chmod_chown_utimensat_reach_the_inode(disk):
    _fs_test(disk, 'fs_attrs')
    out = _debugfs(disk, 'stat /attrs')
    assert 'Mode:  0640' in out, out
    assert 'User:  1000' in out and 'Group:   100' in out, out
    assert 'mtime: 0x3b9aca00' in out, out


def test_umask_applies_at_create(disk):
    _fs_test(disk, 'fs_umask')


def test_statx_fields(disk):
    _fs_test(disk, 'fs_statx')


def test_statfs_fields(disk):
    r = _fs_test(disk, 'fs_statfs')
    free_blocks, free_inodes, _ = _superblock(disk)
    line = next(ln for ln in r.text.splitlines() if ln.startswith('blocks '))
    _, blocks, _, free, _, files, _, ffree = line.split()
    # the guest saw the counts before it made /grow (ten blocks and an inode)
    assert int(free) == free_blocks + 10 and int(ffree) == free_inodes + 1


def test_flock_conflicts_and_fcntl_locks(disk):
    _fs_test(disk, 'fs_flock')


def test_fallocate(disk):
    _fs_test(disk, 'fs_fallocate')


def test_sendfile(disk):
    r = _fs_test(disk, 'fs_sendfile')
    assert 'abc(fs_sendfile) sendfile to the console: 3' in r.text


def test_seek_data_and_hole(disk):
    _fs_test(disk, 'fs_seekdata')


def test_mknod_fifo_and_device_node(disk):
    _fs_test(disk, 'fs_mknod')
    assert 'Type: FIFO' in _debugfs(disk, 'stat /fifo')


def test_errno_values_as_linux(disk):
    _fs_test(disk, 'fs_errno')


def test_blkgetsize64_on_the_disk(disk):
    _fs_test(disk, 'fs_blkgetsize', str(disk.stat().st_size))


@pytest.mark.parametrize('name', ['fs_symlink', 'fs_unlink_open'])
def test_new_calls_work_on_the_tmpfs_root_without_a_disk(run, name):
    """No disk: / is an empty tmpfs, which has symlinks and keeps an unlinked open file's
    pages until its last close (statfs counts the pages the tmpfs holds)."""
    r = run(f'tests/{name}')
    assert 'Traceback' not in r.text
    passed(r, name)


def test_unlinked_mapped_file_keeps_its_blocks_until_munmap(disk):
    _fs_test(disk, 'fs_unlink_mmap')


def test_bad_pointers_give_efault(disk):
    r = _fs_test(disk, 'fs_badptr')
    assert 'Traceback' not in r.text


def test_ln_makes_hard_and_symbolic_links(disk):
    script = ('ln -s /etc/motd /motd-link && ln /etc/motd /motd-hard && cat /motd-link /motd-hard'
              ' && ln -s /etc/motd /motd-link; echo status $?')
    r = run_on_disk(disk, '/bin/sh', '-c', script)
    motd = (GUEST_ROOT / 'etc' / 'motd').read_text()
    assert r.text.startswith(motd + motd), r.text
    assert "ln: cannot make symbolic link '/motd-link': File exists" in r.text
    assert 'status 1' in r.text
    assert 'Fast link dest: "/etc/motd"' in _debugfs(disk, 'stat /motd-link')
    assert 'Links: 2' in _debugfs(disk, 'stat /etc/motd')
    clean = fsck(disk)
    assert clean.returncode == 0, clean.stdout + clean.stderr
