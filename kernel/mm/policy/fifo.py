"""FIFO: evict the page that became resident longest ago; references are ignored.

Suffers Belady's anomaly (more frames can mean more faults).  A pinned page keeps its place
at the old end; the oldest evictable page goes instead.
"""

from collections import OrderedDict

from .base import ReplacementPolicy, NoEvictablePage, always


class FIFO(ReplacementPolicy):
    name = 'fifo'

    def __init__(self):
        self._queue: OrderedDict = OrderedDict()   # first = oldest

    def added(self, page):
        self._queue.pop(page, None)
        self._queue[page] = None

    def referenced(self, page):
        pass

    def removed(self, page):
        self._queue.pop(page, None)

    def choose_victim(self, is_referenced, clear_referenced, can_evict=always):
        for page in self._queue:
            if can_evict(page):
                del self._queue[page]
                return page
        raise NoEvictablePage('fifo: no evictable resident page')

    def __len__(self):
        return len(self._queue)
