"""File calls on tmpfs (/tmp) that ext2 already had: fallocate and SEEK_DATA/SEEK_HOLE."""

from test_programs import passed


def test_fallocate_and_seek_data_on_tmpfs(run):
    passed(run('tests/tmp_fallocate'), 'tmp_fallocate')


def test_shared_anonymous_pages_touched_after_fork_are_shared(run):
    passed(run('tests/shared_anon_fork'), 'shared_anon_fork')


def test_fadvise_is_accepted_and_checked(run):
    r = run('tests/fs_fadvise')
    passed(r, 'fs_fadvise')
    assert not any('not implemented' in line for line in r.log), r.log


def test_mremap_grows_shared_mappings_of_memory_files(run):
    passed(run('tests/mremap_shared'), 'mremap_shared')
