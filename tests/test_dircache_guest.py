"""The ext2 name cache seen from a guest (userland/tests/fs_dcache.c): create, unlink,
rename, link and rmdir in a directory of several blocks, then a reboot, which starts with
an empty cache and must see the same names; e2fsck finds the disk clean after each."""

from conftest import fsck, run_on_disk
from test_programs import passed


def _clean(disk):
    r = fsck(disk)
    assert r.returncode == 0, r.stdout + r.stderr


def test_names_stay_right_across_changes_and_a_reboot(disk):
    passed(run_on_disk(disk, '/tests/fs_dcache', 'change'), 'fs_dcache')
    _clean(disk)
    passed(run_on_disk(disk, '/tests/fs_dcache', 'after'), 'fs_dcache')
    _clean(disk)


def test_many_files_created_and_removed_in_one_directory(disk):
    r = run_on_disk(disk, '/tests/dir_churn', '3000', '/churn')
    assert 'dir_churn: 3000 files' in r.text, r.text
    _clean(disk)


def test_readdir_while_removing_on_tmpfs_visits_every_entry(run):
    """tmpfs numbers entries by index: getdents serves them from the listing taken when
    reading started, so removing the ones already returned shifts nothing."""
    passed(run('tests/fs_readdir_unlink', '/tmp/many'), 'fs_readdir_unlink')
