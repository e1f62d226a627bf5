"""A replacement lab solution with one known mistake, for the grader's own test
(tests/test_labs.py): choose_victim never asks can_evict, so it may choose a pinned page
(one the disk is reading into or writing from, or one under another page-out).  The
handout: "Pinned pages (can_evict False) are passed over and keep their place."  On the
workloads without pins it is the reference, fault for fault.
"""

from collections import OrderedDict

from kernel.mm.policy.base import ReplacementPolicy, NoEvictablePage, always


class SecondChance(ReplacementPolicy):
    name = 'lab-second-chance'

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
        budget = 2 * len(q) + 1
        while q:
            page, soft = next(iter(q.items()))
            if budget and (soft or is_referenced(page)):      # the mistake: no can_evict(page)
                budget -= 1
                clear_referenced(page)
                q[page] = False
                q.move_to_end(page)
                continue
            del q[page]
            return page
        raise NoEvictablePage('second-chance: no resident page')

    def __len__(self):
        return len(self._queue)


class ClockPro(SecondChance):
    """(the challenge, not attempted)"""
    name = 'lab-clock-pro'
