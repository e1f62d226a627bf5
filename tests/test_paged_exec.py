"""Executables are paged in from the buffer cache, never read whole (issue #21): exec reads a
program's first page and its program headers, and maps its segments from the file.  The
regression: /bin/ls with a corrupt inode size of 4 GiB made the host read 4 GiB."""

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import boot, partition1, GUEST_ROOT

FOUR_GIB = 1 << 32
HEADER_BUDGET = 64 << 10        # what exec may read of a program with fs.read (head, phdrs, tails)


def set_size(image: Path, path: str, size: int) -> None:
    """Give the inode of `path` in partition 1 a size (debugfs's sif), as a corrupt disk would."""
    from kernel.tools.mkdisk import partition_offsets, copy_into
    part = partition1(image, image.with_suffix('.p1'))
    subprocess.run(['debugfs', '-w', '-R', f'sif {path} size {size:#x}', str(part)],
                   check=True, capture_output=True)
    start = partition_offsets(image)[0][0]
    with open(image, 'r+b') as f:
        copy_into(part, f, start)


class ReadCounter:
    """Bytes the kernel asked ext2 for, per inode: fs.read (copies) and file_blocks (pages
    looked up for a mapping)."""

    def __init__(self, monkeypatch):
        from kernel.fs.ext2 import Ext2
        self.read, self.looked_up = {}, {}
        read, file_blocks = Ext2.read, Ext2.file_blocks

        def counted_read(fs, ino, offset, length):
            self.read[ino] = self.read.get(ino, 0) + length
            return (yield from read(fs, ino, offset, length))

        def counted_blocks(fs, ino, first, count, *a, **kw):
            self.looked_up[ino] = self.looked_up.get(ino, 0) + count * 4096
            return (yield from file_blocks(fs, ino, first, count, *a, **kw))
        monkeypatch.setattr(Ext2, 'read', counted_read)
        monkeypatch.setattr(Ext2, 'file_blocks', counted_blocks)


def ls_ino(kernel) -> int:
    from kernel.proc.wait import run_boot
    from kernel.fs.vfs import Cwd
    return run_boot(kernel, kernel.vfs.resolve(b'/bin/ls', Cwd())).node


def test_ls_with_a_4_gib_size_runs_from_a_few_pages(disk, monkeypatch):
    set_size(disk, '/bin/ls', FOUR_GIB)
    counter = ReadCounter(monkeypatch)
    kernel, out, log = boot(disk=disk)
    program, exe = kernel.read_guest_program(b'/bin/ls')
    assert not isinstance(program, bytes) and program.size == FOUR_GIB
    p = kernel.spawn(program, [b'/bin/ls', b'/etc'], [], exe=exe)
    text = p.aspace.find(kernel.cpu.context_reg(p.ctx, 'rip'))
    assert text.file is not None and text.image is None      # mapped from the file, not copied
    kernel.run()
    assert p.exit_status == 0, (bytes(out), log)
    assert b'motd' in out
    ino = ls_ino(kernel)
    real = (GUEST_ROOT / 'bin' / 'ls').stat().st_size
    assert counter.read[ino] <= HEADER_BUDGET
    assert counter.looked_up[ino] <= real + 2 * 4096 * 4       # the segments' pages, no more
    kernel.shutdown()


def test_exec_from_the_shell_maps_the_segments(disk, monkeypatch):
    """execve inside the guest takes the same path: the shell runs ls, whose size lies."""
    set_size(disk, '/bin/ls', FOUR_GIB)
    counter = ReadCounter(monkeypatch)
    kernel, out, log = boot(disk=disk, stdin=b'ls /etc\nls /etc\necho done\n')
    sh = kernel.spawn(kernel.read_guest_file(b'/bin/sh'), [b'sh'], [b'PATH=/bin'])
    kernel.run()
    assert sh.exit_status == 0 and out.count(b'motd') == 2 and b'done' in out, bytes(out)
    assert counter.read[ls_ino(kernel)] <= 2 * HEADER_BUDGET
    kernel.shutdown()


def test_a_segment_past_the_real_size_is_refused_in_one_line(disk, tmp_path):
    """A size that lies short: the segments run past it, and exec refuses the file."""
    set_size(disk, '/bin/ls', 1000)
    r = subprocess.run([sys.executable, '-m', 'kernel', 'run', '--disk', str(disk), '/bin/ls'],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 126, r
    assert r.stderr.count('\n') == 1 and 'malformed PT_LOAD segment' in r.stderr


@pytest.mark.parametrize('size', [FOUR_GIB, 1 << 40])
def test_ukern_run_with_a_lying_size_is_quick(disk, size):
    set_size(disk, '/bin/ls', size)
    r = subprocess.run([sys.executable, '-m', 'kernel', 'run', '--disk', str(disk), '/bin/ls', '/etc'],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and 'motd' in r.stdout, r


def test_the_fault_lines_name_the_sections_of_a_program_on_the_disk(disk):
    """--faults names the ELF section of each fault, which needs the section headers: a
    traced run reads its programs whole (as from the host's tree) rather than paging them."""
    r = subprocess.run([sys.executable, '-m', 'kernel', 'run', '--disk', str(disk), '--faults',
                        '/bin/ls', '/'], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r
    lines = [l for l in r.stderr.splitlines() if ' ls/1 ' in l]
    assert any(' .text ' in l for l in lines) and any(' .bss ' in l for l in lines), r.stderr
