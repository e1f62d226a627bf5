"""The metadata calls of the fscalls branch on every file system of the mount table
(tmpfs here, the root without a disk): attributes, flock, FIFOs, statfs's types, EROFS
on /proc, and the working directory that threads share and a fork copies."""

from test_programs import passed


def test_metadata_calls_work_beyond_ext2(run):
    r = run('tests/vfs_meta')
    passed(r, 'vfs_meta')
