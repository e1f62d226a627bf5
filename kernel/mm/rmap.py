"""The reverse map: for each frame, every (address space, virtual address) that maps it.

Reclaim needs it to unmap a page from all its mappers and to read and clear the Accessed
and Dirty bits the CPU set in each of their PTEs (Linux's rmap does the same through
anon_vma and address_space).  Every place that creates or removes a leaf mapping of a
frame goes through AddressSpace.map_page / unmap_page, which keep this map current.
"""

from collections import defaultdict


class ReverseMap:
    def __init__(self):
        self._mappers: dict[int, set] = defaultdict(set)

    def add(self, frame: int, aspace, va: int) -> None:
        self._mappers[frame].add((aspace, va))

    def add_fresh_run(self, frame: int, count: int, aspace, va: int, step: int) -> None:
        """`count` frames from `frame` that nothing maps yet (just allocated) now map at
        va, va+step, ... in aspace: one dict update instead of a set lookup per page."""
        self._mappers.update((frame + i * step, {(aspace, va + i * step)}) for i in range(count))

    def remove(self, frame: int, aspace, va: int) -> None:
        m = self._mappers.get(frame)
        if m is not None:
            m.discard((aspace, va))
            if not m:
                del self._mappers[frame]

    def mappers(self, frame: int) -> list:
        return list(self._mappers.get(frame, ()))

    def mapped(self, frame: int) -> bool:
        return frame in self._mappers
