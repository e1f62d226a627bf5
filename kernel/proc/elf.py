"""Loading static x86-64 ELF executables (ET_EXEC, and static-PIE ET_DYN with no
interpreter), and building the System V initial stack.  The ELF header and program headers
are read as the structures elf.h declares (a loader needs nothing else from the file).

Segments are not copied at load time: each PT_LOAD becomes a region whose pages the fault
handler fills on first touch, from the buffer cache for a program opened from ext2
(proc/program.py: only its headers are read), or from the file's bytes otherwise.  Anything that is not a
usable executable is refused with a one-line reason.
"""

import ctypes
import functools
import struct
from dataclasses import dataclass

from ..mm.vm import AddressSpace, Region, Kind, Prot, FileImage, page_down, page_up, ELF_MIN
from ..mm.pagetable import USER_TOP

EM_X86_64 = 62
ELFCLASS64, ELFDATA2LSB = 2, 1
ET_EXEC, ET_DYN = 2, 3
PT_LOAD, PT_INTERP, PT_PHDR, PT_GNU_STACK, PT_TLS = 1, 3, 6, 0x6474E551, 7
PF_X, PF_W, PF_R = 1, 2, 4
PIE_BASE = 0x5555_5555_4000   # where a static-PIE is placed, as Linux does without ASLR
MAX_IMAGE = 256 << 20


class AuxType:
    """Auxiliary vector tags (elf.h)."""
    AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE = 0, 3, 4, 5, 6, 7
    AT_FLAGS, AT_ENTRY, AT_UID, AT_EUID, AT_GID, AT_EGID = 8, 9, 11, 12, 13, 14
    AT_PLATFORM, AT_HWCAP, AT_CLKTCK, AT_SECURE, AT_RANDOM = 15, 16, 17, 23, 25
    AT_HWCAP2, AT_EXECFN = 26, 31


class ExecError(Exception):
    """The file cannot be run; the message says why, in one line."""


@dataclass
class LoadedImage:
    """Where a loaded program starts, its program headers, and its first break."""
    entry: int
    phdr: int
    phnum: int
    phent: int
    brk: int


def _segment_prot(flags: int) -> Prot:
    prot = Prot.NONE
    if flags & PF_R:
        prot |= Prot.READ
    if flags & PF_W:
        prot |= Prot.WRITE
    if flags & PF_X:
        prot |= Prot.EXEC
    return prot


class Elf64_Ehdr(ctypes.LittleEndianStructure):
    """The ELF header (elf.h, Elf64_Ehdr)."""
    _fields_ = [('e_ident', ctypes.c_uint8 * 16), ('e_type', ctypes.c_uint16),
                ('e_machine', ctypes.c_uint16), ('e_version', ctypes.c_uint32),
                ('e_entry', ctypes.c_uint64), ('e_phoff', ctypes.c_uint64),
                ('e_shoff', ctypes.c_uint64), ('e_flags', ctypes.c_uint32),
                ('e_ehsize', ctypes.c_uint16), ('e_phentsize', ctypes.c_uint16),
                ('e_phnum', ctypes.c_uint16), ('e_shentsize', ctypes.c_uint16),
                ('e_shnum', ctypes.c_uint16), ('e_shstrndx', ctypes.c_uint16)]


class Elf64_Phdr(ctypes.LittleEndianStructure):
    """A program header (elf.h, Elf64_Phdr)."""
    _fields_ = [('p_type', ctypes.c_uint32), ('p_flags', ctypes.c_uint32),
                ('p_offset', ctypes.c_uint64), ('p_vaddr', ctypes.c_uint64),
                ('p_paddr', ctypes.c_uint64), ('p_filesz', ctypes.c_uint64),
                ('p_memsz', ctypes.c_uint64), ('p_align', ctypes.c_uint64)]


assert ctypes.sizeof(Elf64_Ehdr) == 64 and ctypes.sizeof(Elf64_Phdr) == 56
EI_CLASS, EI_DATA = 4, 5
_CLASS_BITS = {1: 32, 2: 64}


@dataclass(frozen=True)
class Segment:
    """A program header, as loading uses it."""
    p_type: int
    p_flags: int
    p_offset: int
    p_vaddr: int
    p_filesz: int
    p_memsz: int


@dataclass(frozen=True)
class Headers:
    """What loading needs from an executable's ELF header and program headers."""
    pie: bool                   # ET_DYN (static-PIE) rather than ET_EXEC
    entry: int
    phoff: int
    phnum: int
    phentsize: int
    segments: tuple[Segment, ...]


class _Refused(Exception):
    """Why a file is not a runnable executable (parse() puts the file's name in front)."""


def parse(data: bytes, name: str) -> Headers:
    try:
        return _headers(data)
    except _Refused as why:
        raise ExecError(f'{name}: {why}') from None


def parse_program(program, name: str) -> Headers:
    """The headers of a program opened from a file (proc/program.py): its first page and
    its program-header table, checked against the size its inode claims."""
    try:
        return _headers_of(program.head, program.size, program.phdrs)
    except _Refused as why:
        raise ExecError(f'{name}: {why}') from None


@functools.lru_cache(maxsize=64)
def _headers(data: bytes) -> Headers:
    """Parsed once per distinct executable (the shell runs the same few programs again
    and again)."""
    eh = _elf_header(data)
    table = data[eh.e_phoff:eh.e_phoff + eh.e_phnum * eh.e_phentsize] if eh.e_phoff < len(data) else b''
    return _headers_of(data, len(data), table)


def _elf_header(head: bytes) -> Elf64_Ehdr:
    if head[:4] != b'\x7fELF':
        raise _Refused('not an ELF file')
    if len(head) < EI_DATA + 1:
        raise _Refused('malformed ELF: the header is cut short')
    if head[EI_CLASS] != ELFCLASS64 or head[EI_DATA] != ELFDATA2LSB:
        bits = _CLASS_BITS.get(head[EI_CLASS], '?')
        raise _Refused(f'not an x86-64 executable ({bits}-bit, data encoding {head[EI_DATA]})')
    if len(head) < ctypes.sizeof(Elf64_Ehdr):
        raise _Refused('malformed ELF: the header is cut short')
    return Elf64_Ehdr.from_buffer_copy(head)


def _headers_of(head: bytes, size: int, table: bytes) -> Headers:
    """head: the file's first bytes; size: the file's; table: its program headers."""
    eh = _elf_header(head)
    if eh.e_machine != EM_X86_64:
        raise _Refused(f'not an x86-64 executable (64-bit, machine {eh.e_machine})')
    if eh.e_type not in (ET_EXEC, ET_DYN):
        raise _Refused(f'not an executable (ELF type {eh.e_type})')
    if eh.e_phnum and eh.e_phentsize < ctypes.sizeof(Elf64_Phdr):
        raise _Refused(f'malformed ELF: program headers of {eh.e_phentsize} bytes')
    if eh.e_phoff + eh.e_phnum * eh.e_phentsize > size or len(table) < eh.e_phnum * eh.e_phentsize:
        raise _Refused('malformed ELF: the program headers run past the end of the file')
    phdrs = (Elf64_Phdr.from_buffer_copy(table, i * eh.e_phentsize) for i in range(eh.e_phnum))
    segments = tuple(Segment(h.p_type, h.p_flags, h.p_offset, h.p_vaddr, h.p_filesz, h.p_memsz)
                     for h in phdrs)
    headers = Headers(eh.e_type == ET_DYN, eh.e_entry, eh.e_phoff, eh.e_phnum, eh.e_phentsize,
                      segments)
    if any(s.p_type == PT_INTERP for s in segments):
        raise _Refused('dynamically linked (needs an interpreter); ukern runs static executables')
    if not any(s.p_type == PT_LOAD for s in segments):
        raise _Refused('no loadable segments')
    return headers


def load(aspace: AddressSpace, data, name: str) -> LoadedImage:
    """Lay out the PT_LOAD segments of `data` as regions of `aspace`: `data` is the whole
    file as bytes (its pages are copied from them on first touch), or a Program
    (proc/program.py) whose segments are mapped from the buffer cache."""
    paged = not isinstance(data, (bytes, bytearray))
    elf = parse_program(data, name) if paged else parse(data, name)
    size = data.size if paged else len(data)
    base = PIE_BASE if elf.pie else 0
    phdr = 0
    top = 0
    for h in elf.segments:
        if h.p_type != PT_LOAD or h.p_memsz == 0:
            continue
        vaddr, off, filesz, memsz = base + h.p_vaddr, h.p_offset, h.p_filesz, h.p_memsz
        if (vaddr - off) % 4096 or filesz > memsz or off + filesz > size:
            raise ExecError(f'{name}: malformed PT_LOAD segment at {vaddr:#x}')
        start, end = page_down(vaddr), page_up(vaddr + memsz)
        if start < ELF_MIN or end > USER_TOP // 2 or end - start > MAX_IMAGE:
            raise ExecError(f'{name}: segment at {vaddr:#x} outside the user address range')
        if aspace.overlapping(start, end):
            raise ExecError(f'{name}: overlapping PT_LOAD segments at {vaddr:#x}')
        prot = _segment_prot(h.p_flags)
        if paged:
            _map_segment(aspace, data, h, start, end, prot, name)
        else:
            image = FileImage(data, off - (vaddr - start), filesz + (vaddr - start))
            aspace.add(Region(start, end, prot, Kind.ELF, name, image))
        if h.p_offset <= elf.phoff < h.p_offset + filesz:
            phdr = vaddr + elf.phoff - h.p_offset
        top = max(top, end)
    return LoadedImage(entry=base + elf.entry, phdr=phdr, phnum=elf.phnum,
                       phent=elf.phentsize, brk=top)


def _map_segment(aspace: AddressSpace, program, h: Segment, start: int, end: int, prot: Prot,
                 name: str) -> None:
    """A segment of a paged program as up to three regions: its whole file pages mapped
    from the buffer cache (private: a write copies), the page where file bytes end and
    zero fill begins (copied at exec), and demand-zero pages after."""
    from .program import file_layout
    first, count, partial = file_layout(h)
    at = start
    if count:
        mapped = program.segment_pages(first, count)
        if mapped is None:
            raise ExecError(f'{name}: the program is too large to map ({program.size} bytes)')
        mapped = mapped.part(0, count)
        aspace.add(Region(at, min(end, at + count * 4096), prot, Kind.ELF, name, file=mapped))
        mapped.hold()
        at += count * 4096
    if partial >= 0 and at < end:
        tail = program.tails.get((partial, h.p_offset + h.p_filesz - partial), b'')
        aspace.add(Region(at, at + 4096, prot, Kind.ELF, name, FileImage(tail, 0, len(tail), partial)))
        at += 4096
    if at < end:
        aspace.add(Region(at, end, prot, Kind.ELF, name))


def build_stack(argv: list[bytes], envp: list[bytes], image: LoadedImage, execfn: bytes,
                random16: bytes, stack_top: int) -> tuple[bytes, int]:
    """The initial process stack (System V x86-64 ABI, 3.4.1), as bytes to place so that
    they end at `stack_top`; returns (bytes, the initial rsp)."""
    strings = bytearray()
    offsets = []
    for s in [execfn] + argv + envp:
        offsets.append(len(strings))
        strings += s + b'\0'
    strings += random16
    platform_off = len(strings)
    strings += b'x86_64\0'
    str_base = (stack_top - len(strings)) & ~15
    addr = lambda i: str_base + offsets[i]
    random_addr = str_base + platform_off - 16
    A = AuxType
    auxv = [(A.AT_PHDR, image.phdr), (A.AT_PHENT, image.phent), (A.AT_PHNUM, image.phnum),
            (A.AT_PAGESZ, 4096), (A.AT_BASE, 0), (A.AT_FLAGS, 0), (A.AT_ENTRY, image.entry),
            (A.AT_UID, 0), (A.AT_EUID, 0), (A.AT_GID, 0), (A.AT_EGID, 0), (A.AT_SECURE, 0),
            (A.AT_HWCAP, 0x178BFBFF), (A.AT_HWCAP2, 0), (A.AT_CLKTCK, 100),
            (A.AT_PLATFORM, str_base + platform_off),
            (A.AT_RANDOM, random_addr), (A.AT_EXECFN, addr(0)), (A.AT_NULL, 0)]
    words = [len(argv)]
    words += [addr(1 + i) for i in range(len(argv))] + [0]
    words += [addr(1 + len(argv) + i) for i in range(len(envp))] + [0]
    for k, v in auxv:
        words += [k, v]
    rsp = (str_base - 8 * len(words)) & ~15
    block = struct.pack(f'<{len(words)}Q', *words)
    blob = block + bytes(str_base - (rsp + len(block))) + bytes(strings)
    return blob, rsp
