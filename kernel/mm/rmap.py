"""The reverse map: for each frame, every (address space, virtual address) that maps it.

Reclaim needs it to unmap a page from all its mappers and to read and clear the Accessed
and Dirty bits the CPU set in each of their PTEs (Linux's rmap does the same through
anon_vma and address_space).  Every place that creates or removes a leaf mapping of a
frame goes through AddressSpace.map_page / unmap_page, which keep this map current.

Most frames have exactly one mapper, so that one is kept in two plain dicts, frame ->
address space and frame -> address, and a set of (aspace, va) pairs is made only when a
second mapper comes (fork, a shared file page).  Plain ints and a few address-space
objects are nothing Python's cycle collector must walk, where a pair per page of a large
program made every full collection slow; and a fault-around window of 512 fresh pages is
two dict updates done in C.
"""

from itertools import repeat


class ReverseMap:
    def __init__(self):
        self._space: dict[int, object] = {}      # frame -> its one mapper's address space
        self._va: dict[int, int] = {}            # frame -> its one mapper's address
        self._many: dict[int, set] = {}          # frame -> {(aspace, va), ...}: two or more

    def add(self, frame: int, aspace, va: int) -> None:
        many = self._many.get(frame)
        if many is not None:
            many.add((aspace, va))
            return
        space = self._space.get(frame)
        if space is None:
            self._space[frame], self._va[frame] = aspace, va
        elif space is not aspace or self._va[frame] != va:
            self._many[frame] = {(space, self._va.pop(frame)), (aspace, va)}
            del self._space[frame]

    def add_fresh_run(self, frame: int, count: int, aspace, va: int, step: int) -> None:
        """`count` frames from `frame` that nothing maps yet (just allocated) now map at
        va, va+step, ... in aspace."""
        frames = range(frame, frame + count * step, step)
        self._space.update(zip(frames, repeat(aspace, count)))
        self._va.update(zip(frames, range(va, va + count * step, step)))

    def remove(self, frame: int, aspace, va: int) -> None:
        many = self._many.get(frame)
        if many is None:
            if self._space.get(frame) is aspace and self._va[frame] == va:
                del self._space[frame], self._va[frame]
            return
        many.discard((aspace, va))
        if len(many) == 1:
            (self._space[frame], self._va[frame]), = many
            del self._many[frame]

    def remove_range(self, aspace, pages) -> None:
        """aspace no longer maps any of `pages`, (va, frame) pairs (an unmapped range):
        the usual single mapper goes without a call per page."""
        space, vas = self._space, self._va
        for va, frame in pages:
            if space.get(frame) is aspace and vas[frame] == va:
                del space[frame], vas[frame]
            elif frame in self._many:
                self.remove(frame, aspace, va)

    def mappers(self, frame: int) -> list:
        space = self._space.get(frame)
        if space is not None:
            return [(space, self._va[frame])]
        many = self._many.get(frame)
        return list(many) if many is not None else []

    def mapped(self, frame: int) -> bool:
        return frame in self._space or frame in self._many

    def frames(self):
        """Every mapped frame (for checkers and reports)."""
        yield from self._space
        yield from self._many
