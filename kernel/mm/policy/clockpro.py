"""CLOCK-Pro (Song Jiang, Feng Chen, Xiaodong Zhang, USENIX ATC 2005).

CLOCK with the reuse-distance idea of LIRS.  Resident pages are *hot* (small reuse distance,
protected) or *cold* (may be evicted).  A cold page starts a *test period* when it becomes
resident or is found referenced; an access during the test period shows a reuse distance
smaller than that of the coldest hot page, so the page becomes hot.  When a cold page in its
test period is evicted its key stays in the clock as a *non-resident* (test) page until the
test period ends; faulting it back in during that time (``added`` of a remembered key) is a
*test hit*: it comes back hot.

One circular list holds hot, cold and non-resident pages in recency order; new pages and
pages that are moved are put at the *head*, the position just behind HAND_hot.  Three hands
move the same way round:

HAND_cold  (at a victim search) looks at resident cold pages.  Unreferenced: evict it (it
           stays as a non-resident page if in its test period, else it is dropped).
           Referenced: clear the bit; in its test period it becomes hot, otherwise it starts
           a test period; either way it moves to the head.
HAND_hot   runs when there are more hot pages than ``m - m_c``: a referenced hot page has its
           bit cleared and is passed; the first unreferenced one becomes cold.  Cold pages it
           passes end their test period (it is older than every hot page), and non-resident
           ones are dropped -- HAND_test's work, done on the way.
HAND_test  runs when more than ``m`` non-resident pages are remembered: it ends the test
           period of the cold pages it passes and drops the first non-resident one it meets.

Adaptive cold target ``m_c`` (the paper's only "parameter", adapted at run time): +1 on a
test hit (a non-resident page refaulted in its test period -- more cold space would have
kept it), -1 whenever a test period ends without a reference (hands hot/test).  It is kept in
``[1, m - 1]``; ``m`` is ``capacity`` if given, else the largest number of resident pages seen
(memory is full when reclaim runs).  ``m_c`` starts at ``initial_cold_fraction * m``
(default 0.5, as libCacheSim's Python binding) at the first victim search.  At most ``m``
non-resident pages are remembered.

Deviations from the paper, for the kernel interface: ``added`` has no access to the A-bit
callbacks, so the HAND_hot work owed after a test hit runs at the start of the next
``choose_victim``; a referenced resident cold page in its test period does not raise ``m_c``
(only refaults do).  Pinned pages are passed by HAND_cold; if no resident cold page can be
evicted, HAND_hot demotes hot pages (ignoring their bits) until one can.  Non-resident pages
are only recognised if keys name page contents (see base).
"""

from .base import ReplacementPolicy, NoEvictablePage, always


class _Node:
    __slots__ = ('key', 'prev', 'next', 'hot', 'resident', 'test', 'ref')

    def __init__(self, key):
        self.key = key
        self.prev = self.next = self
        self.hot = False
        self.resident = True
        self.test = True
        self.ref = False


class ClockPro(ReplacementPolicy):
    name = 'clock-pro'

    def __init__(self, capacity: int | None = None, initial_cold_fraction: float = 0.5):
        self.capacity = capacity
        self.initial_cold_fraction = initial_cold_fraction
        self._nodes: dict = {}
        self.hand_hot = self.hand_cold = self.hand_test = None
        self.n_hot = self.n_cold = self.n_nonresident = 0
        self._max_resident = 0
        self.cold_target: int | None = None      # m_c, set at the first victim search
        self.test_hits = 0

    # -- sizes ------------------------------------------------------------------------
    @property
    def m(self) -> int:
        return self.capacity or self._max_resident

    def _adapt(self, delta: int) -> None:
        if self.cold_target is None:
            return
        self.cold_target = min(max(self.cold_target + delta, 1), max(1, self.m - 1))

    # -- the ring -----------------------------------------------------------------------
    def _unlink(self, node: _Node) -> None:
        nxt = node.next if node.next is not node else None
        if self.hand_hot is node:
            self.hand_hot = nxt
        if self.hand_cold is node:
            self.hand_cold = nxt
        if self.hand_test is node:
            self.hand_test = nxt
        node.prev.next = node.next
        node.next.prev = node.prev
        node.prev = node.next = node

    def _insert_head(self, node: _Node) -> None:
        h = self.hand_hot
        if h is None:
            node.prev = node.next = node
            self.hand_hot = self.hand_cold = self.hand_test = node
            return
        node.next = h
        node.prev = h.prev
        h.prev.next = node
        h.prev = node

    def _move_head(self, node: _Node) -> None:
        self._unlink(node)
        self._insert_head(node)

    def _drop(self, node: _Node) -> None:
        """Forget a non-resident page (its test period is over)."""
        self._unlink(node)
        del self._nodes[node.key]
        self.n_nonresident -= 1

    # -- kernel calls -------------------------------------------------------------------
    def added(self, page):
        node = self._nodes.get(page)
        if node is not None:
            if node.resident:
                return
            # Test hit: refault of a page evicted during its test period.
            self.test_hits += 1
            self.n_nonresident -= 1
            node.resident, node.hot, node.test, node.ref = True, True, False, False
            self.n_hot += 1
            self._move_head(node)
            self._adapt(+1)        # HAND_hot catches up at the next choose_victim
        else:
            node = self._nodes[page] = _Node(page)
            self._insert_head(node)
            self.n_cold += 1
        self._max_resident = max(self._max_resident, self.n_hot + self.n_cold)

    def referenced(self, page):
        node = self._nodes.get(page)
        if node is not None and node.resident:
            node.ref = True

    def removed(self, page):
        node = self._nodes.get(page)
        if node is None:
            return
        if not node.resident:
            self._drop(node)
            return
        if node.hot:
            self.n_hot -= 1
        else:
            self.n_cold -= 1
        self._unlink(node)
        del self._nodes[page]

    def non_resident_hit(self, page):
        node = self._nodes.get(page)
        return node is not None and not node.resident

    def __len__(self):
        return self.n_hot + self.n_cold

    # -- hands --------------------------------------------------------------------------
    def _run_hand_hot(self, is_referenced, clear_referenced, force=False) -> bool:
        """Turn one hot page cold.  False if there is no hot page."""
        budget = 2 * len(self._nodes) + 2
        while self.n_hot:
            node = self.hand_hot
            if node.hot:
                if not force and budget and (node.ref or is_referenced(node.key)):
                    budget -= 1
                    clear_referenced(node.key)
                    node.ref = False
                    self.hand_hot = node.next
                    continue
                node.hot = False
                node.test = False
                self.n_hot -= 1
                self.n_cold += 1
                self.hand_hot = node.next
                return True
            if node.resident:
                if node.test:
                    node.test = False
                    self._adapt(-1)
                self.hand_hot = node.next
            else:
                self._adapt(-1)
                self._drop(node)
        return False

    def _run_hand_test(self) -> None:
        while self.n_nonresident > self.m:
            node = self.hand_test
            if node.hot:
                self.hand_test = node.next
            elif node.resident:
                if node.test:
                    node.test = False
                    self._adapt(-1)
                self.hand_test = node.next
            else:
                self._adapt(-1)
                self._drop(node)

    def _balance(self, is_referenced, clear_referenced) -> None:
        while self.n_hot > self.m - self.cold_target:
            if not self._run_hand_hot(is_referenced, clear_referenced):
                break

    def choose_victim(self, is_referenced, clear_referenced, can_evict=always):
        if not (self.n_hot + self.n_cold):
            raise NoEvictablePage('clock-pro: nothing resident')
        if self.cold_target is None:
            m = self.m
            self.cold_target = min(max(round(self.initial_cold_fraction * m), 1), max(1, m - 1))
        self._balance(is_referenced, clear_referenced)
        idle = 0                  # nodes passed without finding an evictable cold page
        budget = 4 * len(self._nodes) + 4
        while True:
            node = self.hand_cold
            if node.resident and not node.hot and can_evict(node.key):
                idle = 0
                if budget and (node.ref or is_referenced(node.key)):
                    budget -= 1
                    clear_referenced(node.key)
                    node.ref = False
                    if node.test:                      # re-accessed in its test period
                        node.hot, node.test = True, False
                        self.n_cold -= 1
                        self.n_hot += 1
                        self._move_head(node)
                        self._balance(is_referenced, clear_referenced)
                    else:                              # start a test period
                        node.test = True
                        self._move_head(node)
                    continue
                # Evict.
                key = node.key
                self.n_cold -= 1
                if node.test:
                    node.resident = False
                    self.n_nonresident += 1
                    self.hand_cold = node.next
                    self._run_hand_test()
                else:
                    self._unlink(node)
                    del self._nodes[key]
                return key
            idle += 1
            self.hand_cold = node.next
            if idle > len(self._nodes):
                # No evictable resident cold page: make one by demoting a hot page.
                if not self._run_hand_hot(is_referenced, clear_referenced, force=True):
                    raise NoEvictablePage('clock-pro: no evictable resident page')
                idle = 0
