"""CLOCK: the resident pages sit in a fixed ring of slots; a hand sweeps it.

At a victim search the hand looks at the slot it points to: a referenced page (A bit set, or
reported by ``referenced``) has its bit cleared and the hand moves on; an unreferenced page
is evicted and the hand stops just past it.  The next page added takes the freed slot -- just
behind the hand, so it is the last the hand will reach -- which makes the decisions identical
to second chance with no list manipulation: in a real kernel the ring is the frame table and
nothing moves at all.  Slots freed by ``removed`` are reused by later ``added`` pages (wherever
they are in the ring, as a freed frame would be).  Pinned pages are passed by the hand with
their bits untouched.
"""

from .base import ReplacementPolicy, NoEvictablePage, always

_EMPTY = object()


class Clock(ReplacementPolicy):
    name = 'clock'

    def __init__(self):
        self._ring: list = []          # slot -> page, or _EMPTY
        self._ref: list[bool] = []     # slot -> software referenced flag
        self._slot: dict = {}          # page -> slot
        self._free: list[int] = []     # empty slots, most recently freed last
        self.hand = 0

    def added(self, page):
        if page in self._slot:
            return
        if self._free:
            i = self._free.pop()
            self._ring[i] = page
            self._ref[i] = False
        else:
            # A new slot goes just behind the hand: the ring grows there.
            i = self.hand % len(self._ring) if self._ring else 0
            if i == 0:
                i = len(self._ring)        # behind slot 0 is the end of the ring
            self._ring.insert(i, page)
            self._ref.insert(i, False)
            if i < len(self._ring) - 1:    # slots after it shift up by one
                for p, j in self._slot.items():
                    if j >= i:
                        self._slot[p] = j + 1
                self._free = [j + 1 if j >= i else j for j in self._free]
            self.hand = (i + 1) % len(self._ring)
        self._slot[page] = i

    def added_all(self, pages):
        # With no slot free and the hand at slot 0, each new page would go at the ring's
        # end one after the other, the hand staying at 0: append them all at once.
        if self._free or self.hand or not self._ring:
            return super().added_all(pages)
        first = len(self._ring)
        self._ring.extend(pages)
        self._ref.extend([False] * len(pages))
        self._slot.update(zip(pages, range(first, first + len(pages))))

    def referenced(self, page):
        i = self._slot.get(page)
        if i is not None:
            self._ref[i] = True

    def removed(self, page):
        i = self._slot.pop(page, None)
        if i is not None:
            self._ring[i] = _EMPTY
            self._ref[i] = False
            self._free.append(i)

    def removed_all(self, pages):
        pop, ring, ref, free = self._slot.pop, self._ring, self._ref, self._free
        for page in pages:
            i = pop(page, None)
            if i is not None:
                ring[i] = _EMPTY
                ref[i] = False
                free.append(i)

    def choose_victim(self, is_referenced, clear_referenced, can_evict=always):
        n = len(self._ring)
        if not self._slot:
            raise NoEvictablePage('clock: nothing resident')
        ring, ref = self._ring, self._ref
        budget = 2 * n + 1             # guards against bits that never clear
        idle = 0                       # slots passed since the last evictable page
        i = self.hand % n
        while idle <= n:
            page = ring[i]
            if page is _EMPTY or not can_evict(page):
                idle += 1
            else:
                idle = 0
                if budget and (ref[i] or is_referenced(page)):
                    budget -= 1
                    clear_referenced(page)
                    ref[i] = False
                else:
                    ring[i] = _EMPTY
                    del self._slot[page]
                    self._free.append(i)
                    self.hand = (i + 1) % n
                    return page
            i = (i + 1) % n
        raise NoEvictablePage('clock: no evictable resident page')

    def __len__(self):
        return len(self._slot)
