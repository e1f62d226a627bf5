"""File calls on tmpfs (/tmp) that ext2 already had: fallocate and SEEK_DATA/SEEK_HOLE."""

from test_programs import passed


def test_fallocate_and_seek_data_on_tmpfs(run):
    passed(run('tests/tmp_fallocate'), 'tmp_fallocate')
