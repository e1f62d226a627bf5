"""The reverse map: for each frame, every (address space, virtual address) that maps it.

Reclaim needs it to unmap a page from all its mappers and to read and clear the Accessed
and Dirty bits the CPU set in each of their PTEs (Linux's rmap does the same through
anon_vma and address_space).  Every place that creates or removes a leaf mapping of a
frame goes through AddressSpace.map_page / unmap_page, which keep this map current.

Most frames have exactly one mapper, so a frame's entry is that one (aspace, va) pair
itself, and becomes a set only when a second mapper comes (fork, a shared file page):
a fault-around window of 512 fresh pages is then one dict update done in C.
"""

from itertools import repeat


class ReverseMap:
    def __init__(self):
        self._mappers: dict[int, tuple | set] = {}

    def add(self, frame: int, aspace, va: int) -> None:
        m = self._mappers
        key = (aspace, va)
        cur = m.get(frame)
        if cur is None:
            m[frame] = key
        elif type(cur) is tuple:
            if cur != key:
                m[frame] = {cur, key}
        else:
            cur.add(key)

    def add_fresh_run(self, frame: int, count: int, aspace, va: int, step: int) -> None:
        """`count` frames from `frame` that nothing maps yet (just allocated) now map at
        va, va+step, ... in aspace."""
        self._mappers.update(zip(range(frame, frame + count * step, step),
                                 zip(repeat(aspace, count), range(va, va + count * step, step))))

    def remove(self, frame: int, aspace, va: int) -> None:
        m = self._mappers
        cur = m.get(frame)
        if cur is None:
            return
        if type(cur) is tuple:
            if cur == (aspace, va):
                del m[frame]
            return
        cur.discard((aspace, va))
        if len(cur) == 1:
            m[frame] = next(iter(cur))
        elif not cur:
            del m[frame]

    def remove_range(self, aspace, pages) -> None:
        """aspace no longer maps any of `pages`, (va, frame) pairs (an unmapped range):
        the usual single mapper goes without a call per page."""
        m = self._mappers
        for va, frame in pages:
            cur = m.get(frame)
            if type(cur) is tuple and cur[1] == va and cur[0] is aspace:
                del m[frame]
            elif cur is not None:
                self.remove(frame, aspace, va)

    def mappers(self, frame: int) -> list:
        cur = self._mappers.get(frame)
        if cur is None:
            return []
        return [cur] if type(cur) is tuple else list(cur)

    def mapped(self, frame: int) -> bool:
        return frame in self._mappers
