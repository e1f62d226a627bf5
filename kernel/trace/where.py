"""Where an address lies, in the words /proc/PID/maps and perf use: for the fault views.

  [heap], [stack]            the brk heap and the main stack
  //anon                     an anonymous mmap (perf's name for it)
  data.txt@0x2000            a mapped file, and the offset in the file of the faulting page
  .text, .data, .bss         the section of the program image the address belongs to
  hello@0x0                  a page of the program image outside every section (its ELF header)
  [unmapped], [kernel]       no region at all: a bad pointer, a user access to the kernel half

and an instruction address as the function it is in ('main+0x1c'), when the program
still has its symbol table (`strip`ped programs, as userland/build.py makes most, have
none: then the address alone is shown).

The sections and symbols come from the program image the region maps (region.image.data,
the ELF file's bytes), read with pyelftools the first time a program is asked about; the
last few programs' tables are kept, keyed by the image object (kept alive with its
tables, so its id is not reused meanwhile).
"""

import bisect
import os
from collections import OrderedDict
from dataclasses import dataclass

from ..mm.frames import PAGE_SIZE
from ..mm.pagetable import USER_TOP
from ..mm.vm import Kind

PROGRAMS_KEPT = 8            # ELF tables kept (a fork tree or a shell runs a few programs at once)


@dataclass
class ProgramNames:
    """The allocated sections and the function/object symbols of one ELF file, by link
    address, sorted; `bias` is added to link addresses where the kernel loaded a PIE."""
    sections: list[tuple[int, int, str]]
    symbols: list[tuple[int, int, str]]
    bias: int

    def section_at(self, va: int) -> str:
        return _lookup(self.sections, va - self.bias, exact=True)

    def symbol_at(self, va: int) -> str:
        return _lookup(self.symbols, va - self.bias, exact=False)


def _lookup(table: list[tuple[int, int, str]], addr: int, exact: bool) -> str:
    """The entry whose [start, end) holds addr: its name (sections), or name+offset
    (symbols: a symbol of size 0 covers up to the next one)."""
    i = bisect.bisect_right(table, (addr, float('inf'), '')) - 1
    if i < 0:
        return ''
    start, end, name = table[i]
    if addr >= end and (exact or end > start):
        return ''
    if exact:
        return name
    return name if addr == start else f'{name}+{addr - start:#x}'


def read_program_names(data: bytes) -> ProgramNames:
    """Parse an ELF image's section headers and symbol table (pyelftools, loaded here so
    a run that never shows a fault never imports it)."""
    import io
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection
    from ..proc.elf import PIE_BASE
    elf = ELFFile(io.BytesIO(data))
    sections, symbols = [], []
    for s in elf.iter_sections():
        if s['sh_flags'] & 2 and s['sh_size'] and s.name:           # SHF_ALLOC
            sections.append((s['sh_addr'], s['sh_addr'] + s['sh_size'], s.name))
        if isinstance(s, SymbolTableSection) and s.name == '.symtab':
            for sym in s.iter_symbols():
                if sym['st_info']['type'] in ('STT_FUNC', 'STT_OBJECT') and sym['st_value'] and sym.name:
                    symbols.append((sym['st_value'], sym['st_value'] + sym['st_size'], sym.name))
    symbols = _without_duplicates(sorted(symbols))
    bias = PIE_BASE if elf['e_type'] == 'ET_DYN' else 0
    return ProgramNames(sorted(sections), symbols, bias)


def _without_duplicates(symbols: list) -> list:
    """One name per address (aliases such as `exit`/`_Exit` share one): the first."""
    out = []
    for entry in symbols:
        if not out or out[-1][0] != entry[0]:
            out.append(entry)
    return out


class Namer:
    """Names regions and instruction addresses of a kernel's processes, as above."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.programs: OrderedDict[int, tuple[bytes, ProgramNames | None]] = OrderedDict()

    def program(self, data: bytes) -> ProgramNames | None:
        key = id(data)
        if key in self.programs:
            self.programs.move_to_end(key)
            return self.programs[key][1]
        try:
            names = read_program_names(bytes(data))
        except Exception:                        # a malformed image the loader accepted
            names = None
        self.programs[key] = (data, names)
        while len(self.programs) > PROGRAMS_KEPT:
            self.programs.popitem(last=False)
        return names

    def region_of(self, pid: int, addr: int):
        p = self.kernel.procs.get(pid) if self.kernel is not None else None
        return p.aspace.find(addr) if p is not None and p.aspace is not None else None

    def region(self, pid: int, addr: int) -> str:
        """The label of the region holding addr in pid's address space."""
        if addr >= USER_TOP:
            return '[kernel]'
        r = self.region_of(pid, addr)
        if r is None:
            return '[unmapped]'
        return self.label(r, addr)

    def label(self, r, addr: int) -> str:
        page = addr - addr % PAGE_SIZE
        if r.kind is Kind.HEAP:
            return '[heap]'
        if r.kind is Kind.STACK:
            return '[stack]'
        if r.kind is Kind.ELF and r.image is not None:
            names = self.program(r.image.data)
            section = names.section_at(addr) if names is not None else ''
            return section or f'{os.path.basename(r.name)}@{r.image.offset + page - r.start:#x}'
        if r.kind is Kind.FILE or (r.kind is Kind.ANON and r.image is not None):   # (a copied file)
            return f'{os.path.basename(r.name) or "[file]"}@{file_offset(r, page):#x}'
        if r.kind is Kind.ANON and r.name in ('', '[anon]'):
            return '//anon'
        return r.name or f'[{r.kind.value}]'

    def symbol(self, pid: int, rip: int | None) -> str:
        """'main+0x1c' for an address in a program with symbols, else ''."""
        if rip is None:
            return ''
        r = self.region_of(pid, rip)
        if r is None or r.kind is not Kind.ELF or r.image is None:
            return ''
        names = self.program(r.image.data)
        return names.symbol_at(rip) if names is not None else ''


def file_offset(r, page: int) -> int:
    """The offset in its file of a mapped file's page: a mapping through the buffer cache
    or tmpfs knows its first page; a copied one (hostfs) where its bytes came from."""
    if r.file is not None:
        return (r.file.first * PAGE_SIZE) + page - r.start
    if r.image is not None:
        return r.image.base + r.image.offset + page - r.start
    return page - r.start


def region_family(label: str) -> str:
    """The label without what varies within one mapping: a file's name without its page
    offset (the summary counts faults by family)."""
    if '@' in label and not label.startswith('['):
        return label.rsplit('@', 1)[0]
    return label
