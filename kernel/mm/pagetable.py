"""x86-64 4-level page tables, built in guest physical frames for the CPU to walk.

A page-table entry is a plain int; its bits are the PTE flags below (Intel SDM vol. 3,
4.5, tables 4-14 to 4-20).  Bits 9-11 are free for software: ukern keeps its own page
states there (copy-on-write, and later "blocked" for page-level I/O).  Upper levels are
created on demand with P|W|U so that the leaf entry alone decides the access rights.

A page directory entry with the PS bit is a leaf too: it maps a 2 MiB page, 512 physically
contiguous frames from a 2 MiB-aligned one (SDM 4.5, table 4-17; mm/huge.py makes them).
The leaf table such a block would have had is kept aside ("deposited", as Linux does) so
that splitting the page back into 512 ordinary entries never needs a frame.  Reading an
entry (lookup, the range scans) sees a 4 KiB entry cut out of the 2 MiB one; anything
that writes an entry of such a block splits it first, through on_split.
"""

import enum
import operator
from array import array
from dataclasses import dataclass

from emu.memory import PhysicalMemory
from .frames import FrameAllocator, PAGE_SIZE


class PTE(enum.IntFlag):
    P = 1 << 0        # present
    W = 1 << 1        # writable
    U = 1 << 2        # user-accessible
    PWT = 1 << 3
    PCD = 1 << 4
    A = 1 << 5        # accessed: set by the CPU on any access
    D = 1 << 6        # dirty: set by the CPU on a write
    PS = 1 << 7       # large page (in PDPTE/PDE)
    G = 1 << 8
    COW = 1 << 9      # software: read-only because shared copy-on-write
    SWAP = 1 << 10    # software, in a not-present entry: bits 12+ are a swap slot
    BLOCKED = 1 << 11 # software, in a not-present entry: the page's asynchronous read is in flight
    NX = 1 << 63      # no execute (needs EFER.NXE)


# The hot paths test and build entries with these plain ints: arithmetic on IntFlag members
# creates new enum objects, which costs more than the rest of a page fault.
P, W, U, A, D, COW, SWAP, BLOCKED, NX = (int(f) for f in (PTE.P, PTE.W, PTE.U, PTE.A, PTE.D, PTE.COW,
                                                           PTE.SWAP, PTE.BLOCKED, PTE.NX))
PS = int(PTE.PS)
ADDR_MASK = 0x000F_FFFF_FFFF_F000
HUGE_SIZE = 2 << 20                          # a PDE with PS maps this much
HUGE_PAGES = HUGE_SIZE // PAGE_SIZE
HUGE_ADDR_MASK = 0x000F_FFFF_FFE0_0000       # a 2 MiB page's frame: bits 21-51 (bit 12 is PAT)
LEVEL_SHIFTS = (39, 30, 21, 12)
LEVEL_NAMES = ('PML4E', 'PDPTE', 'PDE', 'PTE')
ENTRIES = 512
USER_TOP = 1 << 47            # canonical lower half: user space
KERNEL_HALF_INDEX = 256       # PML4 slots 256-511 map the kernel (supervisor only)
TABLE_FLAGS = P | W | U
_ENTRY = operator.itemgetter(1)              # (va, entry) -> entry: non-zero ones are kept
_P_BIT = bytes(b & 1 for b in range(256))    # a byte -> its bit 0 (count_present)


def frame_of(pte: int) -> int:
    return pte & ADDR_MASK


def small_entry(pde: int, va: int) -> int:
    """The 4 KiB entry that would map va if the 2 MiB page of `pde` were split."""
    return (pde & ~PS) + (va & (HUGE_SIZE - 1) & ~(PAGE_SIZE - 1))


def index(va: int, level: int) -> int:
    return (va >> LEVEL_SHIFTS[level]) & (ENTRIES - 1)


@dataclass
class Walk:
    """The entries met on the way to a virtual address: (table address, entry) per level."""
    steps: list[tuple[int, int]]

    @property
    def leaf(self) -> int:
        if len(self.steps) == 3 and self.steps[-1][1] & PS:
            return self.steps[-1][1]        # a 2 MiB page
        return self.steps[-1][1] if len(self.steps) == 4 else 0


class PageTable:
    """One address space's tables, rooted at a PML4 frame."""

    def __init__(self, memory: PhysicalMemory, frames: FrameAllocator, root: int | None = None):
        self.mem = memory
        self.frames = frames
        self.root = root if root is not None else frames.alloc()
        self.deposit: dict[int, int] = {}    # 2 MiB page's va -> the leaf table kept for its split
        self.on_split = None                 # (va, first frame): the owner's books follow a split

    def _entry_addr(self, va: int, create: bool) -> int | None:
        """Physical address of the leaf PTE slot for va; creates missing tables if asked.
        A 2 MiB page on the way is split: the caller wants a 4 KiB entry."""
        words = self.mem.words
        table = self.root
        for shift in (39, 30, 21):
            slot = table + ((va >> shift) & 511) * 8
            entry = words[slot >> 3]
            if not entry & P:
                if not create:
                    return None
                entry = self.frames.alloc() | TABLE_FLAGS
                words[slot >> 3] = entry
            elif entry & PS and shift == 21:
                entry = self._split(slot >> 3, va & ~(HUGE_SIZE - 1))
            table = entry & ADDR_MASK
        return table + ((va >> 12) & 511) * 8

    # -- 2 MiB pages ------------------------------------------------------------------------
    def _pde_index(self, va: int) -> int | None:
        """Word index of va's page directory entry, None if the directory does not exist."""
        words = self.mem.words
        table = self.root
        for shift in (39, 30):
            entry = words[(table >> 3) + ((va >> shift) & 511)]
            if not entry & P:
                return None
            table = entry & ADDR_MASK
        return (table >> 3) + ((va >> 21) & 511)

    def huge_entry(self, va: int) -> int:
        """The PDE mapping va's 2 MiB page, or 0 when va is not in one."""
        if not self.deposit:
            return 0
        i = self._pde_index(va)
        entry = self.mem.words[i] if i is not None else 0
        return entry if entry & PS and entry & P else 0

    def map_huge(self, va: int, frame: int, flags: int) -> None:
        """Map the 2 MiB-aligned va to the 2 MiB-aligned run of frames at `frame`.  va's
        leaf table must exist and be empty (the fault handler made it): it is deposited."""
        i = self._pde_index(va)
        table = self.mem.words[i] & ADDR_MASK
        self.deposit[va] = table
        self.mem.words[i] = frame | flags | P | PS

    def _split(self, pde_index: int, va: int) -> int:
        """Turn the 2 MiB page at va into its deposited leaf table of 512 entries with the
        same frames and flags (A and D copied to each); returns the new PDE."""
        words = self.mem.words
        pde = words[pde_index]
        table = self.deposit.pop(va)
        first = pde & ~PS
        words[table >> 3:(table >> 3) + ENTRIES] = array('Q', range(first, first + HUGE_SIZE, PAGE_SIZE))
        words[pde_index] = table | TABLE_FLAGS
        if self.on_split is not None:
            self.on_split(va, pde & HUGE_ADDR_MASK)
        return table | TABLE_FLAGS

    def split(self, va: int) -> None:
        """Split the 2 MiB page holding va, if there is one."""
        if self.huge_entry(va):
            self._split(self._pde_index(va), va & ~(HUGE_SIZE - 1))

    def huge_blocks(self, start: int, end: int) -> list[int]:
        """The va of every 2 MiB page overlapping [start, end)."""
        return sorted(b for b in self.deposit if b < end and start < b + HUGE_SIZE)

    def split_range(self, start: int, end: int) -> None:
        """Split every 2 MiB page overlapping [start, end)."""
        for block in self.huge_blocks(start, end):
            self._split(self._pde_index(block), block)

    def take_huge(self, start: int, end: int) -> list[tuple[int, int]]:
        """(va, PDE) of each 2 MiB page wholly inside [start, end), each entry cleared and
        its deposited table freed; a page only partly inside is split (unmapping a range)."""
        out = []
        for block in self.huge_blocks(start, end):
            i = self._pde_index(block)
            if block < start or block + HUGE_SIZE > end:
                self._split(i, block)
                continue
            out.append((block, self.mem.words[i]))
            self.mem.words[i] = 0
            self.frames.release(self.deposit.pop(block))
        return out

    def leaf_slot(self, va: int) -> int | None:
        """Physical address of va's leaf entry, None if its page table does not exist (the
        entries of the following pages up to the table's end follow it, 8 bytes apart)."""
        return self._entry_addr(va, False)

    def make_leaf_table(self, va: int) -> None:
        """Create the tables down to va's leaf table now (OutOfMemory if a frame is short),
        so that mapping va later takes no frame: the fault handler calls this before it
        takes the page's own frame, which would otherwise be lost on the way."""
        self._entry_addr(va, True)

    def lookup(self, va: int) -> int:
        """The leaf PTE for va (0 when any level is missing); in a 2 MiB page, the 4 KiB
        entry it would split into."""
        words = self.mem.words
        table = self.root
        for shift in (39, 30, 21):
            entry = words[(table >> 3) + ((va >> shift) & 511)]
            if not entry & P:
                return 0
            if entry & PS and shift == 21:
                return small_entry(entry, va)
            table = entry & ADDR_MASK
        return words[(table >> 3) + ((va >> 12) & 511)]

    def set(self, va: int, pte: int) -> None:
        self.mem.words[self._entry_addr(va, True) >> 3] = pte

    def update(self, va: int, pte: int) -> None:
        """Rewrite an existing leaf entry (no tables are created).  Setting Accessed or
        Dirty in a 2 MiB page sets them in its PDE, as the CPU does; any other change
        splits the page."""
        huge = self.huge_entry(va)
        if huge and pte | A | D == small_entry(huge, va) | A | D and not huge & (A | D) & ~pte:
            self.mem.words[self._pde_index(va)] = huge | (pte & (A | D))
            return
        slot = self._entry_addr(va, False)
        if slot is not None:
            self.mem.words[slot >> 3] = pte

    def map(self, va: int, frame: int, flags: int) -> None:
        self.set(va, frame | flags | P)

    def map_run(self, va: int, frame: int, count: int, flags: int) -> None:
        """Map `count` pages from va to consecutive frames from `frame`, in one write to
        one leaf table (the run must not cross the table's end: va's 2 MiB)."""
        slot = self._entry_addr(va, True) >> 3
        first = frame | flags | P
        self.mem.words[slot:slot + count] = array('Q', range(first, first + count * PAGE_SIZE, PAGE_SIZE))

    def empty_run(self, va: int, count: int) -> int:
        """How many leaf entries from va's on (at most `count`, within one leaf table) are
        empty: no page, no swap entry, no read on its way."""
        slot = self._entry_addr(va, False)
        if slot is None:
            return count
        entries = self.mem.words[slot >> 3:(slot >> 3) + count]
        if entries == array('Q', bytes(8 * len(entries))):
            return len(entries)
        return next(i for i, e in enumerate(entries) if e)

    def clear(self, va: int) -> int:
        """Remove the leaf mapping and return the old entry (the caller owns the frame)."""
        slot = self._entry_addr(va, False)
        if slot is None:
            return 0
        old = self.mem.words[slot >> 3]
        self.mem.words[slot >> 3] = 0
        return old

    def walk(self, va: int) -> Walk:
        steps = []
        table = self.root
        for level in range(4):
            entry = self.mem.read_u64(table + index(va, level) * 8)
            steps.append((table, entry))
            if not entry & PTE.P or level == 2 and entry & PS:
                break
            table = frame_of(entry)
        return Walk(steps)

    def present_pages(self, start: int, end: int):
        """(va, pte) for every present leaf in [start, end), skipping absent tables fast."""
        for va, pte in self._scan(self.root, 0, 0, start, end):
            if pte & P:
                yield va, pte

    def count_present(self, start: int, end: int) -> int:
        """How many leaves in [start, end) are present: the P bit is bit 0 of each entry's
        first byte, counted a leaf table at a time in C (VmRSS)."""
        count = 0
        for slots, _, entries in self._leaf_tables(self.root, 0, 0, start, end):
            if slots is None:                   # (part of) a 2 MiB page: all present
                count += len(entries)
            else:
                count += self.mem.words[slots].tobytes()[::8].translate(_P_BIT).count(1)
        return count

    def leaf_entries(self, start: int, end: int):
        """(va, pte) for every non-zero leaf in [start, end): present pages, swap entries."""
        yield from self._scan(self.root, 0, 0, start, end)

    def _scan(self, table: int, level: int, base: int, start: int, end: int):
        for _, va, entries in self._leaf_tables(table, level, base, start, end):
            for i, entry in enumerate(entries):
                if entry:
                    yield va + i * PAGE_SIZE, entry

    def take_leaves(self, start: int, end: int) -> list[tuple[int, int]]:
        """(va, pte) for every non-zero leaf in [start, end), each entry cleared: what
        unmapping a range needs, a leaf table at a time instead of a walk per page.
        2 MiB pages in the range are split first (AddressSpace.unmap_range takes whole
        ones with take_huge before)."""
        if self.deposit:
            self.split_range(start, end)
        out: list[tuple[int, int]] = []
        words = self.mem.words
        for slots, va, entries in self._leaf_tables(self.root, 0, 0, start, end):
            out.extend(filter(_ENTRY, zip(range(va, va + len(entries) * PAGE_SIZE, PAGE_SIZE), entries)))
            words[slots] = array('Q', bytes(8 * len(entries)))
        return out

    def _leaf_tables(self, table: int, level: int, base: int, start: int, end: int):
        """(slice of the entries' words, va of the first, the entries) for the part of each
        existing leaf table that covers [start, end), in address order.  A 2 MiB page
        gives its would-be 4 KiB entries, with no slice (None): they are not in memory."""
        span = 1 << LEVEL_SHIFTS[level]
        first = max(0, (start - base) // span)
        last = min(ENTRIES - 1, (end - 1 - base) // span) if end > base else -1
        if last < first:
            return
        slots = slice((table >> 3) + first, (table >> 3) + last + 1)
        entries = self.mem.words[slots].tolist()
        if level == 3:
            yield slots, base + first * span, entries
            return
        for i, entry in enumerate(entries, first):
            if entry & P and level == 2 and entry & PS:
                lo, hi = max(start, base + i * span), min(end, base + (i + 1) * span)
                first_pte = small_entry(entry, lo)
                yield None, lo, list(range(first_pte, first_pte + (hi - lo), PAGE_SIZE))
            elif entry & P:
                yield from self._leaf_tables(entry & ADDR_MASK, level + 1, base + i * span, start, end)

    def free_tables(self, keep_kernel_half: bool = True) -> None:
        """Free every table frame of the user half (leaf frames must already be released)."""
        self._free_level(self.root, 0, KERNEL_HALF_INDEX if keep_kernel_half else ENTRIES)
        self.frames.release(self.root)

    def _free_level(self, table: int, level: int, limit: int = ENTRIES) -> None:
        if level == 3:
            return
        for entry in self.mem.words[table >> 3:(table >> 3) + limit].tolist():
            if entry & P and not (level == 2 and entry & PS):
                self._free_level(entry & ADDR_MASK, level + 1)
                self.frames.release(entry & ADDR_MASK)


def describe(pte: int) -> str:
    """'P|W|U|A|D|NX' style flag list for traces and fault reports."""
    if not pte & PTE.P:
        return 'not present' if not pte else f'not present ({pte:#x})'
    names = [f.name for f in (PTE.P, PTE.W, PTE.U, PTE.A, PTE.D, PTE.PS, PTE.COW, PTE.NX) if pte & f]
    return '|'.join(names)
