"""SEQ: Linux-style active and inactive lists.

* New pages enter the head of the *inactive* list.
* The victim comes from the inactive tail.  When the search meets a referenced inactive page
  (A bit set, or reported by ``referenced``) it clears the bit and promotes the page to the
  head of the *active* list instead; the first unreferenced, evictable page is evicted.  A
  page touched once (a scan) is therefore gone after one trip through the inactive list,
  while a page used again while it was inactive moves to the active list.
* Active pages are not looked at on every search -- that is the point: the common, hot pages
  cost nothing.  Only when the inactive list is too small is the active list *refilled* from
  its tail: an unreferenced tail page is demoted to the inactive head; a referenced one has its
  bit cleared and goes back to the active head (one more chance, as in second chance).
* Ratio: the refill keeps ``len(active) <= inactive_ratio * len(inactive)``.  The default
  ``inactive_ratio = 1`` is Linux's value for memory under 1 GiB (it uses
  ``int(sqrt(10 * GiB))`` above that, see ``inactive_is_low``): the inactive list is at
  least half of the resident pages, so a hot set up to half of memory survives any scan.
* ``referenced(page)`` from a reclaim scan promotes an inactive page and moves an active page
  to the active head.

Pinned pages stay where they are and are passed over (Linux would park them on an
"unevictable" list; here they simply keep their position).

Note for the kernel: the faulting access itself sets the A bit of a new page, so with the
hardware model a page needs no second access to look referenced at its first inactive-tail
visit.  The kernel should clear the A bit when it maps a freshly faulted page after the access
completes, or accept that one-touch pages get promoted once (Linux avoids this with a
"referenced once" software flag, a later refinement).  The simulator models the textbook case:
a fault does not set the bit.
"""

from collections import OrderedDict

from .base import ReplacementPolicy, NoEvictablePage, always


class SEQ(ReplacementPolicy):
    name = 'seq'

    def __init__(self, inactive_ratio: int = 1):
        if inactive_ratio < 1:
            raise ValueError('inactive_ratio must be >= 1')
        self.inactive_ratio = inactive_ratio
        self.active: OrderedDict = OrderedDict()     # page -> soft ref flag; first = tail (oldest)
        self.inactive: OrderedDict = OrderedDict()

    def added(self, page):
        if page in self.active or page in self.inactive:
            return
        self.inactive[page] = False

    def referenced(self, page):
        if page in self.inactive:
            del self.inactive[page]
            self.active[page] = False
        elif page in self.active:
            self.active.move_to_end(page)

    def removed(self, page):
        self.active.pop(page, None)
        self.inactive.pop(page, None)

    def _inactive_low(self) -> bool:
        return len(self.active) > self.inactive_ratio * len(self.inactive)

    def _refill(self, is_referenced, clear_referenced, force=False):
        """Demote from the active tail until the inactive list is big enough.

        With force, demote regardless of the A bit until one evictable page went over (used
        when the whole inactive list turned out to be pinned or referenced).
        """
        budget = len(self.active) + 1     # after one rotation every bit has been cleared
        while self.active and (force or self._inactive_low()):
            page, soft = next(iter(self.active.items()))
            referenced = soft or is_referenced(page)
            if referenced:
                clear_referenced(page)
            del self.active[page]
            if referenced and budget and not force:
                budget -= 1
                self.active[page] = False           # back to the active head
            else:
                self.inactive[page] = False         # demoted to the inactive head
                if force:
                    return

    def _scan_inactive(self, is_referenced, clear_referenced, can_evict):
        aside = []
        victim = None
        while self.inactive:
            page, soft = next(iter(self.inactive.items()))
            if not can_evict(page):
                del self.inactive[page]
                aside.append((page, soft))
                continue
            del self.inactive[page]
            if soft or is_referenced(page):
                clear_referenced(page)
                self.active[page] = False           # promoted
                continue
            victim = page
            break
        for page, soft in reversed(aside):
            self.inactive[page] = soft
            self.inactive.move_to_end(page, last=False)
        return victim

    def choose_victim(self, is_referenced, clear_referenced, can_evict=always):
        self._refill(is_referenced, clear_referenced)
        victim = self._scan_inactive(is_referenced, clear_referenced, can_evict)
        while victim is None and self.active:
            # Everything inactive was pinned or just promoted: pull active pages over, oldest
            # first, until one can go.
            before = len(self.active)
            self._refill(is_referenced, clear_referenced, force=True)
            victim = self._scan_inactive(is_referenced, clear_referenced, can_evict)
            if len(self.active) >= before and victim is None:
                break
        if victim is None:
            raise NoEvictablePage('seq: no evictable resident page')
        return victim

    def __len__(self):
        return len(self.active) + len(self.inactive)
