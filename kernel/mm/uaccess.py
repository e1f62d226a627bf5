"""Copying between the kernel and a process's memory, through that process's page tables.

Unicorn reads physical memory only, so the kernel walks the tables itself, as xv6's
copyin/copyout do.  A page that is valid but not yet present is faulted in exactly as if
the process had touched it (and a copy-on-write page is broken before a write); an address
the process could not access raises BadAddress, which the syscall layer turns into EFAULT.
"""

import functools

from emu.cpu import PF_PRESENT, PF_USER, PF_WRITE
from . import fault
from .frames import PAGE_SIZE
from .pagetable import P, U, W, A, D, ADDR_MASK, ENTRIES, frame_of, USER_TOP, HUGE_ADDR_MASK, HUGE_SIZE


class BadAddress(Exception):
    def __init__(self, addr: int):
        super().__init__(f'bad user address {addr:#x}')
        self.addr = addr


class UserMemory:
    """The user memory of one process, as the kernel reaches it."""

    def __init__(self, kernel, proc):
        self.k = kernel
        self.p = proc

    def _phys(self, va: int, write: bool) -> int:
        if not 0 <= va < USER_TOP:
            raise BadAddress(va)
        pt = self.p.aspace.pt
        pte = pt.lookup(va)
        need = P | U | (W if write else 0)
        if pte & need != need:
            error = PF_USER | (PF_WRITE if write else 0) | (PF_PRESENT if pte & P else 0)
            result = self.k.page_fault(self.p, va, error, from_kernel=True)
            if result.action is fault.Action.EFAULT:
                raise BadAddress(va)
            pte = pt.lookup(va)
        accessed = A | (D if write else 0)
        if pte & accessed != accessed:
            pt.update(va, pte | accessed)
        return frame_of(pte) | (va & (PAGE_SIZE - 1))

    def check_range(self, va: int, n: int) -> None:
        """Linux's access_ok: the range must lie in user space (faults come later)."""
        if va < 0 or n < 0 or va + n > USER_TOP:
            raise BadAddress(va)

    def read_for_report(self, va: int, n: int) -> bytes:
        """Instruction bytes for a fault report: fault them in if they are valid."""
        try:
            return self.read(va, n)
        except BadAddress:
            return self.try_read(va, n)

    def phys_runs(self, va: int, n: int, write: bool):
        """The physical memory behind user bytes va..va+n, as (address, length) runs that
        are contiguous in RAM.  A stretch of pages present with the access they need and
        consecutive frames (the usual case: a buffer faulted in page by page) is found by
        comparing its page-table entries with a counting sequence, in C, not page by page.
        A run is handed out before any fault, and entries are read again after one, so
        what reclaim does during a fault never touches a run not yet copied."""
        return _joined(self._phys_pieces(va, n, write))

    def _phys_pieces(self, va: int, n: int, write: bool):
        """phys_runs' pieces, not yet joined: (address, length) for each stretch the page
        tables give, and FLUSH before each fault."""
        end = va + n
        ready = P | U | A | (W | D if write else 0)
        memory = self.k.machine.memory
        words = memory.words
        pt = self.p.aspace.pt
        while va < end:
            if not 0 <= va < USER_TOP:
                raise BadAddress(va)
            huge = pt.huge_entry(va)
            if huge:                            # a 2 MiB page: one physical run to its end
                if huge & ready != ready:
                    yield FLUSH
                    self._phys(va, write)       # sets A (and D) in its PDE, or faults
                    continue
                step = min(end, (va | (HUGE_SIZE - 1)) + 1) - va
                yield (huge & HUGE_ADDR_MASK) + (va & (HUGE_SIZE - 1)), step
                va += step
                continue
            slot = pt.leaf_slot(va)
            index = (va >> 12) & (ENTRIES - 1)
            pages = min(ENTRIES - index, ((end - 1) >> 12) - (va >> 12) + 1)
            if slot is None:
                runs, entries = (), 1           # no leaf table: one empty entry
            else:
                runs, entries = _ready_runs(memory.view[slot:slot + 8 * pages].tobytes(), ready), pages
            chunks, ready_pages, page_va = [], 0, va & ~(PAGE_SIZE - 1)
            for i, count in runs:
                start = max(va, page_va + i * PAGE_SIZE)
                chunks.append(((words[(slot >> 3) + i] & ADDR_MASK) + (start - page_va - i * PAGE_SIZE),
                               min(end, page_va + (i + count) * PAGE_SIZE) - start))
                ready_pages = i + count
            for pa, step in chunks:
                yield pa, step
                va += step
            if ready_pages == entries or va >= end:
                continue
            yield FLUSH
            rest = _entries(memory, slot, pages)[ready_pages:]
            if write and not rest[0] and len(rest) > 1:
                fresh = next((i for i, pte in enumerate(rest) if pte), len(rest))
                if self.k.fill_zero_run(self.p, va & ~(PAGE_SIZE - 1), fresh):
                    continue                    # look at the entries again, now present
            step = min(end - va, PAGE_SIZE - (va & (PAGE_SIZE - 1)))
            yield self._phys(va, write), step
            va += step

    def write_from_phys(self, va: int, pieces) -> None:
        """Copy physical memory to the user: pieces [(address or None for zeros, length)],
        laid end to end from va (read() out of the buffer cache, with no bytes object in
        between)."""
        mem = self.k.machine.memory
        total = sum(length for _, length in pieces)
        self.k.vmstat['copy_bytes'] += total
        source = iter(pieces)
        src, left = 0, 0
        for dst, step in self.phys_runs(va, total, True):
            while step:
                if not left:
                    src, left = next(source)
                take = min(step, left)
                if src is None:
                    mem.fill(dst, take)
                else:
                    mem.copy(dst, src, take)
                    src += take
                dst += take
                step -= take
                left -= take

    def read(self, va: int, n: int) -> bytes:
        mem = self.k.machine.memory
        self.k.vmstat['copy_bytes'] += n
        return b''.join(mem.read(pa, step) for pa, step in self.phys_runs(va, n, False))

    def write(self, va: int, data: bytes) -> None:
        mem = self.k.machine.memory
        self.k.vmstat['copy_bytes'] += len(data)
        pos = 0
        for pa, step in self.phys_runs(va, len(data), True):
            mem.write(pa, data[pos:pos + step])
            pos += step

    def read_cstr(self, va: int, limit: int = 4096) -> bytes:
        """A NUL-terminated string of at most `limit` bytes (ENAMETOOLONG is the caller's)."""
        out = bytearray()
        mem = self.k.machine.memory
        while len(out) < limit:
            pa = self._phys(va, False)
            chunk = mem.read(pa, min(PAGE_SIZE - (va & (PAGE_SIZE - 1)), limit - len(out)))
            nul = chunk.find(b'\0')
            if nul >= 0:
                return bytes(out + chunk[:nul])
            out += chunk
            va += len(chunk)
        raise BadAddress(va)

    def read_u64(self, va: int) -> int:
        return int.from_bytes(self.read(va, 8), 'little')

    def write_u64(self, va: int, value: int) -> None:
        self.write(va, (value & 0xFFFF_FFFF_FFFF_FFFF).to_bytes(8, 'little'))

    def read_ptr_array(self, va: int, limit: int = 4096) -> list[int]:
        """A NULL-terminated array of pointers (argv, envp)."""
        out = []
        while True:
            ptr = self.read_u64(va + 8 * len(out))
            if ptr == 0:
                return out
            out.append(ptr)
            if len(out) > limit:
                raise BadAddress(va)

    def try_read(self, va: int, n: int) -> bytes:
        """As many bytes as are readable from va without faulting anything in (for reports)."""
        out = b''
        pt = self.p.aspace.pt
        mem = self.k.machine.memory
        while len(out) < n:
            pte = pt.lookup(va + len(out)) if va + len(out) < USER_TOP else 0
            if not pte & P:
                break
            a = va + len(out)
            step = min(n - len(out), PAGE_SIZE - (a & (PAGE_SIZE - 1)))
            out += mem.read(frame_of(pte) | (a & (PAGE_SIZE - 1)), step)
        return out


FLUSH = None        # a piece of _phys_pieces: hand out the run so far (a fault comes next)


def _joined(pieces):
    """Physically adjacent pieces joined into runs; FLUSH hands out the run so far."""
    run_pa, run_len = 0, 0
    for piece in pieces:
        if piece is FLUSH or (run_len and run_pa + run_len != piece[0]):
            if run_len:
                yield run_pa, run_len
            run_len = 0
            if piece is FLUSH:
                continue
        if run_len:
            run_len += piece[1]
        else:
            run_pa, run_len = piece
    if run_len:
        yield run_pa, run_len


def _entries(memory, slot: int | None, pages: int) -> list[int]:
    """The `pages` leaf entries from slot, for _contiguous_ready and the test for empty
    entries: their low 32 bits (flags and the frame address below 4 GiB) when the high
    halves all agree (RAM under 4 GiB) and a zero low half means a zero entry; the whole
    entries otherwise.  The NX bit makes whole entries big integers, which cost Python
    several times as much to build and compare."""
    if slot is None:
        return [0]
    return _entries_in(memory.view[slot:slot + 8 * pages])


def _entries_in(raw: memoryview) -> list[int]:
    """_entries of the leaf entries' bytes."""
    halves = raw.cast('I')
    highs = halves[1::2].tolist()
    if highs.count(highs[0]) == len(highs):
        lows = halves[0::2].tolist()
        if not highs[0] or 0 not in lows:
            return lows
    return raw.cast('Q').tolist()


@functools.lru_cache(maxsize=64)
def _ready_runs(raw: bytes, ready: int) -> tuple[tuple[int, int], ...]:
    """_contiguous_ready of the leaf entries whose bytes are `raw`, remembered by those
    bytes: a process reading into the same buffer again and again (1 MiB at a time) has
    its entries compared with the last ones (a memcmp) instead of decoded again, and
    entries that changed in any bit are other bytes, so nothing needs forgetting."""
    return tuple(_contiguous_ready(_entries_in(memoryview(raw)), ready))


def _contiguous_ready(ptes: list[int], ready: int) -> list[tuple[int, int]]:
    """(first index, count) runs of consecutive frames among the leading entries that have
    all the `ready` bits.  A run to the end of the list is recognised by one comparison
    with a counting sequence (in C); only a break in the frames costs a step per page."""
    runs, i, n = [], 0, len(ptes)
    while i < n and ptes[i] & ready == ready:
        base, rest = ptes[i], n - i
        if rest == 1 or (ptes[-1] == base + (rest - 1) * PAGE_SIZE
                         and ptes[i:] == list(range(base, base + rest * PAGE_SIZE, PAGE_SIZE))):
            runs.append((i, rest))
            break
        j = i + 1
        while j < n and ptes[j] == base + (j - i) * PAGE_SIZE:
            j += 1
        runs.append((i, j - i))
        i = j
    return runs
