"""The file system without a disk: the host's tree (hostfs) at /, /tmp and /dev/shm in
memory (tmpfs), /dev (devfs) and /proc, and execve through the VFS."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT, boot, run_on_disk
from test_programs import passed


def run_host(userland, name: str, *args: str, root: str = '/', cwd=None, rw: bool = False, seed: int = 0):
    """Run a guest program as `ukern run` does without --disk: the host's tree under root
    at /, the first process in the host directory cwd."""
    from conftest import GuestRun
    from kernel.cli import load_program
    kernel, out, log = boot(seed=seed)
    kernel.mount_host(root, str(cwd or os.getcwd()), rw)
    path = str(userland / name)
    data, exe = load_program(kernel, path, disk=False)
    p = kernel.spawn(data, [path.encode()] + [a.encode() for a in args], [], exe=exe)
    kernel.run()
    kernel.shutdown()
    return GuestRun(p.exit_status, bytes(out), log, kernel)


@pytest.fixture
def here(tmp_path):
    """A host directory holding input.txt, as the guest's working directory."""
    (tmp_path / 'input.txt').write_text('the input file\n')
    return tmp_path


def test_a_guest_reads_host_files_and_cannot_change_them(userland, here):
    exe = str(userland / 'tests/host_files')
    r = run_host(userland, 'tests/host_files', 'ro', 'input.txt', 'the input file\n',
                 os.path.realpath(here), exe, cwd=here)
    passed(r, 'host_files')
    assert (here / 'input.txt').read_text() == 'the input file\n'
    assert sorted(os.listdir(here)) == ['input.txt']


def test_with_rw_a_guest_creates_host_files(userland, here):
    r = run_host(userland, 'tests/host_files', 'rw', 'made', cwd=here, rw=True)
    passed(r, 'host_files')
    assert (here / 'made.moved').read_bytes() == b'written by the guest'
    assert (here / 'made.dir').is_dir()


def test_root_dir_is_the_guest_root_with_no_way_out(userland, tmp_path):
    (tmp_path / 'marker').write_text('in the root')
    (tmp_path / 'etc').mkdir()
    (tmp_path / 'etc' / 'only-here').write_text('root etc')
    os.symlink('/etc', tmp_path / 'link')
    r = run_host(userland, 'tests/host_root', root=str(tmp_path), cwd=tmp_path)
    passed(r, 'host_root')


def test_tmp_is_a_file_system_in_memory(userland):
    r = run_host(userland, 'tests/tmp_files')
    passed(r, 'tmp_files')


def test_tmp_is_there_with_a_disk_too(disk):
    r = run_on_disk(disk, '/tests/tmp_files')
    passed(r, 'tmp_files')


def _urandom(r) -> str:
    return next(line for line in r.text.splitlines() if line.startswith('urandom:'))


def test_devices_without_a_disk_and_urandom_follows_the_seed(userland):
    first = run_host(userland, 'tests/tmp_devices', seed=7)
    passed(first, 'tmp_devices')
    again = run_host(userland, 'tests/tmp_devices', seed=7)
    other = run_host(userland, 'tests/tmp_devices', seed=8)
    assert _urandom(first) == _urandom(again)
    assert _urandom(first) != _urandom(other)


def test_exec_of_host_programs_scripts_and_errors(userland):
    dynamic = '/bin/ls'
    with open(dynamic, 'rb') as f:
        head = f.read(4096)
    if head[:4] != b'\x7fELF' or b'ld-linux' not in head:
        pytest.skip('no dynamically linked /bin/ls on this host')
    r = run_host(userland, 'tests/host_exec', str(userland / 'bin/echoargs'), dynamic)
    passed(r, 'host_exec')
    assert any('dynamically linked' in line for line in r.log)


def _ukern(*args: str, cwd=ROOT):
    return subprocess.run([sys.executable, '-m', 'kernel', *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_ukern_run_finds_the_program_and_its_input_from_the_host_cwd(userland, here):
    r = _ukern('run', str(userland / 'bin/cat'), 'input.txt', cwd=here)
    assert r.returncode == 0, r.stderr
    assert r.stdout == 'the input file\n'
    r = _ukern('run', 'build/userland/bin/hello')
    assert r.returncode == 0, r.stderr
    assert 'hello' in r.stdout.lower()


def test_cli_refuses_a_missing_root_in_one_line(userland, tmp_path):
    r = _ukern('run', '--root', str(tmp_path / 'nowhere'), 'build/userland/bin/hello')
    assert r.returncode == 2
    assert r.stderr.count('\n') == 1 and 'Traceback' not in r.stderr


def test_tmpfs_frees_the_frames_of_a_file_nobody_holds(userland):
    r = run_host(userland, 'tests/tmp_unmapped')
    passed(r, 'tmp_unmapped')


def test_host_files_under_tmp_show_through_the_guests_own_tmp(userland):
    import shutil
    import tempfile
    work = tempfile.mkdtemp(dir='/tmp')
    try:
        shutil.copy(userland / 'bin/cat', work)
        with open(os.path.join(work, 'input.txt'), 'w') as f:
            f.write('under the host tmp\n')
        r = _ukern('run', f'{work}/cat', f'{work}/input.txt', cwd=work)
        assert (r.returncode, r.stdout) == (0, 'under the host tmp\n'), r.stderr
        r = _ukern('run', str(userland / 'bin/cp'), 'input.txt', f'{work}/copy.txt', cwd=work)
        assert r.returncode != 0, 'a write under the host tmp without --rw'
        assert not os.path.exists(os.path.join(work, 'copy.txt'))
    finally:
        shutil.rmtree(work)


def test_a_missing_program_is_one_line_with_the_systems_words(userland, tmp_path):
    r = _ukern('run', 'no-such-program', cwd=tmp_path)
    assert r.returncode == 127
    assert r.stderr == 'ukern: no-such-program: No such file or directory\n'


def test_readdir_of_tmp_lists_the_host_files_that_show_through(userland):
    import tempfile
    with tempfile.NamedTemporaryFile(dir='/tmp', prefix='ukern-union-') as host:
        host.write(b'host')
        host.flush()
        r = run_host(userland, 'tests/tmp_union_ls', host.name)
        passed(r, 'tmp_union_ls')


def test_a_shared_writable_mapping_of_a_host_file_writes_back(userland, here):
    target = here / 'mapped.txt'
    target.write_bytes(b'.' * 5000)
    r = run_host(userland, 'tests/host_mmap_shared', str(target), cwd=here, rw=True)
    passed(r, 'host_mmap_shared')
    data = target.read_bytes()
    assert len(data) == 5000
    assert (data[0], data[100], data[4096]) == (ord('A'), ord('U'), ord('C'))
    assert data.count(b'.') == 5000 - 3


def test_without_rw_a_shared_mapping_of_a_host_file_cannot_be_written(userland, here):
    target = here / 'mapped.txt'
    target.write_bytes(b'.' * 5000)
    r = run_host(userland, 'tests/host_mmap_shared', str(target), cwd=here)
    assert '(host_mmap_shared) FAIL: open the host file read-write' in r.text
    assert target.read_bytes() == b'.' * 5000
