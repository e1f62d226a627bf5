"""The ELF fuzzer: mutations and truncations of real guest programs, each spawned in a fresh
kernel.  The property (kernel/proc/elf.py's promise): a file either runs (until it ends, or
until a bound of virtual time stops it) or is refused with a one-line ExecError.  Any other
exception out of spawn or the run is a finding.

Mutations aim at what the loader reads: the ELF header's fields (elf.h, Elf64_Ehdr), the
program headers' fields (Elf64_Phdr: types, offsets, addresses, sizes, flags), set to
boundary values (0, -1, 2**63, page-crossing values, values just past the file), plus random
bytes and truncations.
"""

import hashlib
import random
import re
from pathlib import Path

from .common import USERLAND, Finding, boot, guarded, run_process, save

# Elf64_Ehdr fields the loader reads: (offset, size)
EHDR_FIELDS = {'e_ident_class': (4, 1), 'e_ident_data': (5, 1), 'e_type': (16, 2),
               'e_machine': (18, 2), 'e_entry': (24, 8), 'e_phoff': (32, 8),
               'e_phentsize': (54, 2), 'e_phnum': (56, 2)}
# Elf64_Phdr fields, relative to a program header
PHDR_FIELDS = {'p_type': (0, 4), 'p_flags': (4, 4), 'p_offset': (8, 8), 'p_vaddr': (16, 8),
               'p_paddr': (24, 8), 'p_filesz': (32, 8), 'p_memsz': (40, 8), 'p_align': (48, 8)}
PHDR_SIZE = 56
P_TYPES = (0, 1, 2, 3, 4, 6, 7, 0x6474E550, 0x6474E551, 0x6474E552, 0xFFFFFFFF)
PROGRAMS = ('bin/true', 'bin/echo', 'bin/hello', 'tests/exit42', 'asm/hello')


def interesting(size: int, rng: random.Random, file_len: int, old: int) -> int:
    """A boundary value for a field of `size` bytes."""
    top = (1 << (8 * size)) - 1
    choices = [0, 1, top, top >> 1, (top >> 1) + 1, 0x1000, 0xFFF, 0x1001, file_len,
               file_len - 1, file_len + 1, old + 1, old - 1, old ^ (1 << rng.randrange(8 * size)),
               old + 0x1000, old - 0x1000, rng.getrandbits(8 * size)]
    if size == 8:
        choices += [1 << 63, 0x7FFF_FFFF_F000, 0x8000_0000_0000, 0xFFFF_8000_0000_0000,
                    0x7FFF_FFFF_FFFF, 1 << 47, 0x40_0000]
    return rng.choice(choices) & top


def field_value(data: bytes, off: int, size: int) -> int:
    return int.from_bytes(data[off:off + size], 'little')


def set_field(data: bytearray, off: int, size: int, value: int) -> None:
    if off + size <= len(data):
        data[off:off + size] = value.to_bytes(size, 'little')


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One to three mutations of an executable; returns the file and what was done."""
    out = bytearray(data)
    done = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        done.append(_mutate_once(out, rng))
    return bytes(out), '; '.join(done)


def _mutate_once(out: bytearray, rng: random.Random) -> str:
    phoff, phnum = field_value(out, 32, 8), field_value(out, 56, 2)
    kind = rng.choices(('ehdr', 'phdr', 'truncate', 'bytes', 'swap'), (3, 6, 1, 1, 1))[0]
    if kind == 'ehdr':
        name = rng.choice(list(EHDR_FIELDS))
        off, size = EHDR_FIELDS[name]
        value = interesting(size, rng, len(out), field_value(out, off, size))
        set_field(out, off, size, value)
        return f'{name}={value:#x}'
    if kind == 'phdr' and phnum and phoff < len(out):
        i = rng.randrange(min(phnum, 16))
        name = rng.choice(list(PHDR_FIELDS))
        off, size = PHDR_FIELDS[name]
        at = phoff + i * PHDR_SIZE + off
        value = (rng.choice(P_TYPES) if name == 'p_type' and rng.random() < 0.5
                 else interesting(size, rng, len(out), field_value(out, at, size)))
        set_field(out, at, size, value)
        return f'phdr[{i}].{name}={value:#x}'
    if kind == 'truncate':
        n = rng.choice((rng.randrange(0, 64), rng.randrange(64, 64 + PHDR_SIZE * 8),
                        rng.randrange(len(out) + 1)))
        del out[n:]
        return f'truncated to {n}'
    if kind == 'swap' and phnum >= 2 and phoff + phnum * PHDR_SIZE <= len(out):
        i, j = rng.sample(range(min(phnum, 16)), 2)
        a, b = phoff + i * PHDR_SIZE, phoff + j * PHDR_SIZE
        out[a:a + PHDR_SIZE], out[b:b + PHDR_SIZE] = out[b:b + PHDR_SIZE], out[a:a + PHDR_SIZE]
        return f'swapped phdr[{i}] and phdr[{j}]'
    at = rng.randrange(min(len(out), 4096)) if out else 0
    if out:
        out[at] = rng.randrange(256)
    return f'byte {at}'


def run_one(data: bytes) -> str:
    """Spawn and run the file in a fresh kernel; the outcome, or an exception (a finding)."""
    from kernel.proc.elf import ExecError
    kernel, out, log = boot()
    try:
        p = kernel.spawn(data, [b'/fuzz'], [])
    except ExecError as e:
        if '\n' in str(e):
            raise AssertionError(f'a refusal of more than one line: {e!r}')
        return 'refused: ' + re.sub(r'0x[0-9a-f]+|(?<![\w-])\d+', 'N', str(e).split(': ', 1)[-1])
    return 'ran: ' + run_process(kernel, p)


def seeds(userland: Path = USERLAND) -> list[bytes]:
    return [(userland / name).read_bytes() for name in PROGRAMS if (userland / name).exists()]


def fuzz(tally, rng: random.Random, count: int, keep: bool = True) -> None:
    """`count` mutated files; findings are saved to the corpus when `keep`."""
    originals = seeds()
    for _ in range(count):
        data, what = mutate(rng.choice(originals), rng)
        try:
            tally.record(guarded(run_one, data))
        except Finding as f:
            name = 'elf-' + hashlib.sha1(data).hexdigest()[:12]
            saved = save('elf', name, data, {'mutation': what, 'finding': f.text.strip().splitlines()[-1]}) if keep else ''
            tally.finding(f, saved)


def replay(path: Path, meta: dict) -> str:
    """A corpus entry, as a regular test runs it (raises on a finding)."""
    return run_one(path.read_bytes())
