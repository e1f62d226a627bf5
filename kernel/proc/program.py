"""Executables as exec opens them from a file system with a page cache (ext2 with 4 KiB
blocks): only the file's first page (the ELF header, or a `#!` line) and its program
headers are read up front; each loadable segment is then mapped from the buffer cache as a
private file mapping (the MappedFile mmap makes), so its pages come in on first touch, as
Linux pages an executable in.  The one page where a segment's file bytes end and its zero
fill (.bss) begins is copied at exec, since its tail must read as zeros.

The inode's size is never trusted to read that much: a corrupt size of 4 GiB costs the
pages the program headers name, and a segment past the real data faults cleanly (SIGBUS,
as a mapped file read past its end does).  elf.load validates the headers again and refuses
a bad file with one line; open_program only prepares what load will ask for.

A file from elsewhere (the host's tree, tmpfs, /proc) is read whole, as bytes: its size is
the host's or the kernel's own, not a number read from a disk.
"""

import ctypes
from dataclasses import dataclass, field

from ..fs.fserror import FsError
from ..mm.vm import page_down, page_up
from . import elf

PAGE = 4096
HEAD_BYTES = PAGE             # read first: the ELF header, a `#!` line (Linux's BINPRM_BUF_SIZE is less)
MAX_PHDR_BYTES = 64 << 10     # program headers past this are refused (as Linux's load_elf_phdrs)
MAX_MAPPED_PAGES = elf.MAX_IMAGE // PAGE   # file pages all segments together may map


@dataclass
class Program:
    """An executable opened for exec, as much of it as exec reads."""
    head: bytes               # the file's first page (all of it when shorter)
    size: int                 # the size its inode claims
    phdrs: bytes = b''        # the program header table (e_phoff, e_phnum * e_phentsize bytes)
    maps: dict = field(default_factory=dict)    # (first page, pages) -> MappedFile
    tails: dict = field(default_factory=dict)   # (offset, length) of a partial page -> its bytes

    def segment_pages(self, first: int, count: int):
        """The MappedFile of the file's pages [first, first+count), or None."""
        return self.maps.get((first, count))


def file_layout(h: elf.Segment) -> tuple[int, int, int]:
    """(first file page, file pages mapped whole, file offset of the partial page or -1) of
    a PT_LOAD segment whose vaddr and offset agree modulo the page size."""
    end = h.p_offset + h.p_filesz
    first = page_down(h.p_offset) // PAGE
    if h.p_memsz > h.p_filesz and end % PAGE:
        return first, page_down(end) // PAGE - first, page_down(end)
    return first, page_up(end) // PAGE - first, -1


def mappable(h: elf.Segment, size: int) -> bool:
    """Is the segment one load would accept (the rest of its checks are load's)?"""
    return (h.p_type == elf.PT_LOAD and 0 < h.p_memsz <= elf.MAX_IMAGE
            and h.p_filesz <= h.p_memsz and h.p_offset + h.p_filesz <= size
            and (h.p_vaddr - h.p_offset) % PAGE == 0)


def open_program(f, size: int):
    """A Program for the open ext2 file f (an InodeFile) whose inode claims `size` bytes
    (a generator).  Headers that do not parse leave it without mappings: load refuses it."""
    head = yield from f.pread(min(size, HEAD_BYTES), 0)
    program = Program(head, size)
    if not head.startswith(b'\x7fELF') or len(head) < ctypes.sizeof(elf.Elf64_Ehdr):
        return program
    eh = elf.Elf64_Ehdr.from_buffer_copy(head)
    table = eh.e_phnum * eh.e_phentsize
    if table > MAX_PHDR_BYTES or eh.e_phoff + table > size:
        return program
    if eh.e_phoff + table <= len(head):
        program.phdrs = head[eh.e_phoff:eh.e_phoff + table]
    else:
        program.phdrs = yield from f.pread(table, eh.e_phoff)
    try:
        headers = elf.parse_program(program, 'exec')
    except elf.ExecError:
        return program
    yield from _map_segments(f, program, headers)
    return program


def _map_segments(f, program: Program, headers: elf.Headers):
    from ..sys.memory import file_pages
    budget = MAX_MAPPED_PAGES
    for h in headers.segments:
        if not mappable(h, program.size):
            continue
        first, count, partial = file_layout(h)
        budget -= count
        if budget < 0:
            break                      # load refuses the program as too large
        if count and (first, count) not in program.maps:
            mapped = yield from file_pages(f.vfs, f.ino, first, count, False)
            if isinstance(mapped, int):
                raise FsError(-mapped)
            program.maps[(first, count)] = mapped
        length = h.p_offset + h.p_filesz - partial
        if partial >= 0 and (partial, length) not in program.tails:
            program.tails[partial, length] = yield from f.pread(length, partial)


def pageable(f) -> bool:
    """Can exec map this open file's pages from the buffer cache (ext2 with page-sized
    blocks, the same condition as mmap of a file)?"""
    from ..fs.ext2_vfs import InodeFile
    return isinstance(f, InodeFile) and f.vfs.fs.block_size == PAGE
