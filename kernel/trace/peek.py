"""Reading a traced process's memory without disturbing it (strace, the fault view, gdb).

A tracer looks through the process's page tables at frames already present and never
faults anything in: a fault would change what is being traced (and could wait for a
disk).  Whatever it cannot read — a bad pointer, a page not present, a process gone —
comes back as None, and the caller shows the address instead, as strace does.
"""

import ctypes

from ..mm.frames import PAGE_SIZE
from ..mm.pagetable import PTE, frame_of, USER_TOP

STRING_LIMIT = 32          # strace's default -s 32


class MemoryPeek:
    """Read a process's memory without faulting anything in; None when not readable."""

    def __init__(self, kernel, pid: int):
        p = kernel.procs.get(pid) if kernel is not None else None
        from ..proc.process import State
        self.ok = p is not None and p.state is not State.ZOMBIE
        self.pt = p.aspace.pt if self.ok else None
        self.mem = kernel.machine.memory if self.ok else None

    def read(self, va: int, n: int) -> bytes | None:
        """Up to n bytes from va, as many as are present (None if the first byte is not)."""
        if not self.ok or not 0 < va < USER_TOP or n <= 0:
            return None
        try:
            out = b''
            while len(out) < n:
                a = va + len(out)
                if a >= USER_TOP:
                    break
                pte = self.pt.lookup(a)
                if pte & (PTE.P | PTE.U) != PTE.P | PTE.U:
                    break
                step = min(n - len(out), PAGE_SIZE - (a & (PAGE_SIZE - 1)))
                out += self.mem.read(frame_of(pte) | (a & (PAGE_SIZE - 1)), step)
            return out or None
        except Exception:
            return None

    def exactly(self, va: int, n: int) -> bytes | None:
        """All n bytes from va, or None."""
        data = self.read(va, n)
        return data if data is not None and len(data) == n else None

    def cstr(self, va: int, limit: int = STRING_LIMIT) -> tuple[bytes, bool] | None:
        """(string, truncated) for a NUL-terminated string, None if unreadable."""
        data = self.read(va, limit + 1)
        if data is None:
            return None
        nul = data.find(b'\0')
        if nul >= 0:
            return data[:nul], False
        if len(data) > limit:
            return data[:limit], True
        return None

    def u64s(self, va: int, n: int) -> list[int] | None:
        data = self.exactly(va, 8 * n)
        if data is None:
            return None
        return [int.from_bytes(data[i:i + 8], 'little') for i in range(0, 8 * n, 8)]

    def int32(self, va: int) -> int | None:
        data = self.exactly(va, 4)
        return None if data is None else int.from_bytes(data, 'little', signed=True)

    def struct(self, layout: type[ctypes.Structure], va: int):
        """An instance of the ctypes layout read from va, or None."""
        data = self.exactly(va, ctypes.sizeof(layout))
        return None if data is None else layout.from_buffer_copy(data)
