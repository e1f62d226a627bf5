"""Files on an ext2 disk behind the AHCI controller: guest programs create, write,
reread, seek, list, rename and delete, and the image stays clean for e2fsck."""

from conftest import run_on_disk, fsck, debugfs_cat, boot, put_file


def passed(r, name):
    assert 'FAIL' not in r.text, r.text
    assert f'({name}) end' in r.text, r.text + '\n'.join(r.log)
    assert r.status == 0


def test_program_loads_from_the_disk(disk):
    r = run_on_disk(disk, '/bin/hello')
    assert r.text.startswith('hello from ukern')


def test_file_read_from_disk_is_what_mkdisk_put_there(disk):
    r = run_on_disk(disk, '/bin/cat', '/etc/motd')
    assert r.text == 'Welcome to ukern: a teaching microkernel in Python.\n'


def test_write_several_mib_and_read_back_then_fsck_clean(disk):
    passed(run_on_disk(disk, '/tests/fileio', '/big', '4'), 'fileio')
    check = fsck(disk)
    assert check.returncode == 0, check.stdout + check.stderr
    data = debugfs_cat(disk, '/big')
    assert data[:1000] == bytes((i * 7 + (i >> 12)) & 0xFF for i in range(1000))
    assert data[1000:1005] == b'HELLO' and data.endswith(b'end') and len(data) == 3003


def test_directories_rename_unlink_and_errors_then_fsck_clean(disk):
    passed(run_on_disk(disk, '/tests/dirs'), 'dirs')
    check = fsck(disk)
    assert check.returncode == 0, check.stdout + check.stderr
    assert debugfs_cat(disk, '/kept/file') == b'x'


def test_device_files_console_and_raw_disk(disk):
    r = run_on_disk(disk, '/tests/devfiles')
    passed(r, 'devfiles')
    assert '(devfiles) via console' in r.text


def test_dev_null_is_empty_and_dev_zero_reads_zeros(disk):
    passed(run_on_disk(disk, '/tests/devmem'), 'devmem')


def test_missing_program_path_is_an_error(disk):
    import pytest
    from kernel.fs.ext2 import FsError
    kernel, _, _ = boot(disk=disk)
    with pytest.raises(FsError):
        kernel.read_guest_file(b'/bin/nonexistent')


def test_a_process_runs_while_another_waits_for_the_disk(disk):
    """Asynchrony: while the reader is blocked on DMA, the spinner gets the CPU."""
    from kernel.proc.process import State
    put_file(disk, '/big', bytes(range(256)) * 6000)      # 1.5 MB: many reads from the disk
    kernel, out, log = boot(disk=disk, quantum=20_000)
    reader = kernel.spawn(kernel.read_guest_file(b'/bin/cat'), [b'cat', b'/big'], [])
    spinner = kernel.spawn(kernel.read_guest_file(b'/tests/spin'), [b'spin', b'3000000'], [])
    ran_while_blocked = []
    kernel.trace.subscribe(lambda e: ran_while_blocked.append(e.time)
                           if e.kind == 'switch' and e.pid == spinner.pid and reader.state is State.BLOCKED
                           else None)
    kernel.run()
    kernel.shutdown()
    assert reader.exit_status == 0 and spinner.exit_status == 0
    assert len(ran_while_blocked) >= 3, ran_while_blocked
