"""Exact LRU, the reference policy: evict the page whose last reference is oldest.

It needs every reference (``wants_every_reference``): in the simulator each access calls
``referenced``.  In the kernel nothing sees individual accesses, so it is driven by the
reclaim scan's ``referenced`` calls and is only an approximation there: all references since
the previous scan count as one, ordered by the scan, not by time.  The hardware A bit is not
read in ``choose_victim`` (that would reorder pages by list position, not by time).
"""

from collections import OrderedDict

from .base import ReplacementPolicy, NoEvictablePage, always


class LRU(ReplacementPolicy):
    name = 'lru'
    wants_every_reference = True

    def __init__(self):
        self._order: OrderedDict = OrderedDict()   # first = least recently used

    def added(self, page):
        self._order.pop(page, None)
        self._order[page] = None

    def referenced(self, page):
        if page in self._order:
            self._order.move_to_end(page)

    def removed(self, page):
        self._order.pop(page, None)

    def choose_victim(self, is_referenced, clear_referenced, can_evict=always):
        for page in self._order:
            if can_evict(page):
                del self._order[page]
                return page
        raise NoEvictablePage('lru: no evictable resident page')

    def __len__(self):
        return len(self._order)
