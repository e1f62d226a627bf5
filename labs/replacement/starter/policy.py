"""Lab replacement: your page-replacement policies.  `ukern lab start replacement` copied this
file to labs/replacement/student/policy.py; while the lab is active

    kernel.mm.policy.POLICIES['lab-second-chance']  is  SecondChance below
    kernel.mm.policy.POLICIES['lab-clock-pro']      is  ClockPro below (the challenge)

The interface (what the kernel calls, and when) is kernel/mm/policy/base.py: read it first,
then labs/replacement/README.md.  Both classes start as FIFO: they pass the contract checks
but ignore references, so they fault as FIFO does.
"""

from collections import OrderedDict

from kernel.mm.policy.base import ReplacementPolicy, NoEvictablePage, always


class SecondChance(ReplacementPolicy):
    name = 'lab-second-chance'

    def __init__(self):
        self._queue: OrderedDict = OrderedDict()     # first = oldest

    def added(self, page):
        self._queue.pop(page, None)
        self._queue[page] = None

    def referenced(self, page):
        # TODO: remember that the page was referenced (the kernel saw its A bit and cleared it)
        pass

    def removed(self, page):
        self._queue.pop(page, None)

    def choose_victim(self, is_referenced, clear_referenced, can_evict=always):
        # TODO: a referenced page at the head (is_referenced(page), or a reference reported
        # by referenced()) gets a second chance: clear the bit (clear_referenced(page)) and
        # move it to the tail.  A page that may not be evicted (can_evict) is passed over
        # and keeps its place at the head.  Guard against bits that never clear.
        for page in self._queue:
            if can_evict(page):
                del self._queue[page]
                return page
        raise NoEvictablePage('lab-second-chance: no evictable resident page')

    def __len__(self):
        return len(self._queue)


class ClockPro(SecondChance):
    """The challenge: CLOCK-Pro (Jiang, Chen and Zhang, USENIX ATC 2005) -- hot and cold
    pages on one clock, three hands, and non-resident "test" pages whose refault makes a
    page hot.  Until you write it, it is FIFO too."""
    name = 'lab-clock-pro'
