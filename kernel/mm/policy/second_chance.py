"""Second chance: FIFO order, but a referenced page gets another trip through the queue.

The victim search looks at the oldest page: if its Accessed bit (or a reference reported by
``referenced``) is set, the bit is cleared and the page goes to the tail as if it had just
arrived; otherwise it is evicted.  If every page is referenced this degenerates to FIFO after
one full rotation.  Pinned pages are passed over without touching their bit and keep their
place at the old end.  Decisions are identical to CLOCK's; only the data structure differs
(a list whose pages move versus a fixed ring with a moving hand).
"""

from collections import OrderedDict

from .base import ReplacementPolicy, NoEvictablePage, always


class SecondChance(ReplacementPolicy):
    name = 'second-chance'

    def __init__(self):
        self._queue: OrderedDict = OrderedDict()   # page -> software referenced flag; first = oldest

    def added(self, page):
        self._queue.pop(page, None)
        self._queue[page] = False

    def referenced(self, page):
        if page in self._queue:
            self._queue[page] = True

    def removed(self, page):
        self._queue.pop(page, None)

    def choose_victim(self, is_referenced, clear_referenced, can_evict=always):
        q = self._queue
        aside = []           # pinned pages met at the head, put back there afterwards
        victim = None
        budget = 2 * len(q) + 1              # guards against bits that never clear
        while q:
            page, soft = next(iter(q.items()))
            if not can_evict(page):
                del q[page]
                aside.append((page, soft))
                continue
            if budget and (soft or is_referenced(page)):
                budget -= 1
                clear_referenced(page)
                q[page] = False
                q.move_to_end(page)
                continue
            del q[page]
            victim = page
            break
        for page, soft in reversed(aside):
            q[page] = soft
            q.move_to_end(page, last=False)
        if victim is None:
            raise NoEvictablePage('second-chance: no evictable resident page')
        return victim

    def __len__(self):
        return len(self._queue)
