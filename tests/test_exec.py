"""Loading executables: static musl and glibc binaries run; anything else is refused
with a one-line reason, never a traceback."""

import shutil
import struct
import subprocess
import sys

import pytest

from conftest import boot, ROOT
from kernel.proc.elf import ExecError


def refuse(data: bytes) -> str:
    kernel, _, _ = boot()
    with pytest.raises(ExecError) as e:
        kernel.spawn(data, [b'bad'], [])
    assert '\n' not in str(e.value)
    return str(e.value)


def test_text_file_is_not_an_elf():
    assert 'not an ELF file' in refuse(b'#!/bin/sh\necho hi\n')


def test_empty_file_is_refused():
    assert 'not an ELF file' in refuse(b'')


def test_truncated_elf_is_refused(userland):
    data = (userland / 'bin/hello').read_bytes()[:100]
    assert 'malformed ELF' in refuse(data)


@pytest.mark.parametrize('phoff', [2**63, 2**64 - 1, 1 << 40])
def test_program_headers_past_the_file_are_refused(userland, phoff):
    data = bytearray((userland / 'bin/hello').read_bytes())
    struct.pack_into('<Q', data, 32, phoff)          # e_phoff
    assert 'program headers run past the end of the file' in refuse(bytes(data))


def test_32_bit_elf_is_refused():
    ident = b'\x7fELF' + bytes([1, 1, 1]) + bytes(9)
    header = ident + struct.pack('<HHIIIIIHHHHHH', 2, 3, 1, 0x8048000, 52, 0, 0, 52, 32, 0, 40, 0, 0)
    assert 'not an x86-64 executable' in refuse(header)


def test_dynamically_linked_program_is_refused():
    if not shutil.which('gcc'):
        pytest.skip('no host gcc to make a dynamic executable')
    assert 'dynamically linked' in refuse(open(shutil.which('gcc'), 'rb').read())


def test_segment_outside_user_space_is_refused(userland):
    data = bytearray((userland / 'asm/exit42').read_bytes())
    phoff = struct.unpack_from('<Q', data, 32)[0]
    for i in range(struct.unpack_from('<H', data, 56)[0]):
        off = phoff + i * 56
        if struct.unpack_from('<I', data, off)[0] == 1:          # PT_LOAD: move p_vaddr up high
            struct.pack_into('<Q', data, off + 16, 0xFFFF_8000_0000_0000)
            break
    assert 'outside the user address range' in refuse(bytes(data))


def test_cli_refuses_a_bad_file_with_one_line(tmp_path):
    bad = tmp_path / 'notes.txt'
    bad.write_text('hello\n')
    r = subprocess.run([sys.executable, '-m', 'kernel', 'run', str(bad)], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 126
    assert r.stderr.strip().splitlines() == [f'ukern: cannot run {bad}: not an ELF file']


def test_cli_exit_code_is_128_plus_signal(userland):
    r = subprocess.run([sys.executable, '-m', 'kernel', 'run', str(userland / 'bin/segv')],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 128 + 11
    assert 'killed by SIGSEGV' in r.stderr


def test_glibc_static_binary_runs(tmp_path):
    if not shutil.which('gcc'):
        pytest.skip('no host gcc')
    src = tmp_path / 'g.c'
    src.write_text('#include <stdio.h>\n#include <stdlib.h>\n'
                   'int main(int c, char **v) { char *p = malloc(200000); p[1] = 7;'
                   ' printf("glibc %s %d\\n", v[1], p[1]); return 5; }\n')
    exe = tmp_path / 'g'
    r = subprocess.run(['gcc', '-static', '-O2', str(src), '-o', str(exe)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip('host gcc cannot link static glibc programs: ' + r.stderr[:200])
    kernel, out, log = boot()
    p = kernel.spawn(exe.read_bytes(), [b'g', b'works'], [])
    kernel.run()
    assert out.decode() == 'glibc works 7\n'
    assert p.exit_status >> 8 == 5
