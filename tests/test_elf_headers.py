"""The loader's own reading of ELF headers (kernel/proc/elf.py, elf.h's Elf64_Ehdr and
Elf64_Phdr) agrees with pyelftools, an independent reader, on every guest program, and
refuses what is not a runnable x86-64 executable with a one-line reason."""

import io
import struct

import pytest
from elftools.elf.elffile import ELFFile

from kernel.proc.elf import ExecError, parse

P_TYPES = {'PT_LOAD': 1, 'PT_INTERP': 3, 'PT_PHDR': 6, 'PT_TLS': 7, 'PT_GNU_STACK': 0x6474E551}


def programs(userland):
    return sorted(p for d in ('bin', 'asm', 'tests') for p in (userland / d).iterdir() if p.is_file())


def test_headers_agree_with_pyelftools_on_every_guest_program(userland):
    checked = 0
    for path in programs(userland):
        data = path.read_bytes()
        h = parse(data, path.name)
        elf = ELFFile(io.BytesIO(data))
        assert (h.pie, h.entry, h.phoff, h.phnum, h.phentsize) == (
            elf['e_type'] == 'ET_DYN', elf['e_entry'], elf['e_phoff'], elf['e_phnum'],
            elf['e_phentsize']), path
        theirs = [seg.header for seg in elf.iter_segments()]
        assert len(h.segments) == len(theirs), path
        for mine, t in zip(h.segments, theirs):
            p_type = t['p_type'] if isinstance(t['p_type'], int) else P_TYPES.get(t['p_type'])
            if p_type is not None:
                assert mine.p_type == p_type, path
            assert (mine.p_flags, mine.p_offset, mine.p_vaddr, mine.p_filesz, mine.p_memsz) == (
                t['p_flags'], t['p_offset'], t['p_vaddr'], t['p_filesz'], t['p_memsz']), path
        checked += 1
    assert checked > 50


def refusal(data: bytes) -> str:
    with pytest.raises(ExecError) as e:
        parse(data, 'bad')
    assert '\n' not in str(e.value)
    return str(e.value)


def header(e_type=2, machine=62, phoff=64, phentsize=56, phnum=1) -> bytes:
    ident = b'\x7fELF' + bytes([2, 1, 1]) + bytes(9)
    return ident + struct.pack('<HHIQQQIHHHHHH', e_type, machine, 1, 0x401000, phoff, 0, 0, 64,
                               phentsize, phnum, 64, 0, 0)


def test_another_machine_is_refused():
    assert 'not an x86-64 executable' in refusal(header(machine=183) + bytes(56))   # EM_AARCH64


def test_an_object_file_is_refused():
    assert 'not an executable' in refusal(header(e_type=1) + bytes(56))             # ET_REL


def test_program_headers_past_the_end_are_refused():
    assert 'malformed ELF' in refusal(header(phnum=3) + bytes(56))


def test_program_headers_too_small_are_refused():
    assert 'malformed ELF' in refusal(header(phentsize=32) + bytes(56))


def test_a_header_cut_short_is_refused():
    assert 'malformed ELF' in refusal(header()[:40])


def test_no_loadable_segment_is_refused():
    assert 'no loadable segments' in refusal(header() + struct.pack('<IIQQQQQQ', 4, 4, 0, 0, 0, 0, 0, 8))
