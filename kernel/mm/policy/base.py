"""The page-replacement policy interface: what the kernel's reclaim code calls.

A policy decides *which* resident page to evict when memory runs out.  It never touches
page tables, frames or the disk itself: the kernel tells it what happens to pages, and when
reclaim needs a frame it asks the policy for a victim.  One small class per policy, so a
lab can swap in its own by registering it (see ``kernel.mm.policy.register``).

Pages
    A page is an opaque, hashable *key*; the policy only compares and hashes it.  The kernel
    uses either the frame's physical address or ``(object, index)``.  Policies that remember
    pages after eviction (CLOCK-Pro's non-resident "test" pages) only recognise a page coming
    back if its key names the *contents* -- ``(object, index)`` or a swap slot -- and not the
    frame, which will usually differ on the refault.

Calls the kernel makes
    ``added(page)``
        The page became resident (after a fault brought it in, or a new page was
        allocated).  A policy with a non-resident history checks it here: CLOCK-Pro treats
        ``added`` of a key it still remembers as a refault within the test period.  The
        kernel needs nothing else to report that case; ``non_resident_hit(page)`` only lets
        it ask beforehand (for statistics, or to read-ahead less), without changing state.
    ``referenced(page)``
        The kernel saw the page's Accessed bit set -- while a reclaim scan walked the page
        tables (it then clears the bit itself), or, for the exact-LRU reference policy in the
        simulator, on every access.  Policies that sample the A bit themselves through
        ``is_referenced`` treat this as "the bit was set", so both routes mean the same.
    ``removed(page)``
        The page is no longer resident for a reason other than being chosen as a victim
        (munmap, exit, truncate).  The policy forgets it, including any non-resident
        history, and must never return it as a victim.  Unknown keys are ignored.
    ``choose_victim(is_referenced, clear_referenced, can_evict) -> page``
        Pick the next page to evict, forget it (it is no longer resident as far as the
        policy is concerned; do not call ``removed`` for it) and return it.  The policy may
        consult the hardware through the callbacks:

        * ``is_referenced(page) -> bool`` reads the A bit of every PTE that maps the page;
        * ``clear_referenced(page)`` clears those A bits (and invalidates the TLB entries,
          or the CPU would not set the bit again on the next access);
        * ``can_evict(page) -> bool`` is False for pages the kernel cannot evict now
          (pinned for DMA, locked, under I/O).  The policy skips them; they stay resident
          and keep their position (FIFO/LRU/SEQ leave them where they are; a clock hand
          simply passes them).  Pinning is the kernel's business: a policy never learns
          why, and asks again next time.  ``can_evict`` may be omitted (all evictable).

        This is how CLOCK and second chance see references the CPU made without any
        per-access hook: the A bit is the per-access hook, done by the hardware.
        Raises ``NoEvictablePage`` if no resident page can be evicted (out of memory).
    ``len(policy)``
        The number of resident pages the policy tracks (non-resident history excluded).

The callbacks run kernel code (page-table walks, TLB shootdowns): call each at most once
or twice per page examined, never in bulk over all of memory.

The class attribute ``wants_every_reference`` is True only for policies that need the
kernel (or simulator) to call ``referenced`` on *every* access, i.e. exact LRU.  The
simulator honours it; in the kernel such a policy is driven by reference scanning and is
therefore only approximate (references between two scans collapse into one, in scan order).
"""

from abc import ABC, abstractmethod
from typing import Callable, Hashable

Page = Hashable
IsReferenced = Callable[[Page], bool]
ClearReferenced = Callable[[Page], None]
CanEvict = Callable[[Page], bool]


class NoEvictablePage(LookupError):
    """choose_victim found no resident page it may evict (all pinned, or none resident)."""


def always(page: Page) -> bool:
    """The default can_evict: every page may be evicted."""
    return True


class ReplacementPolicy(ABC):
    """A page-replacement policy; see the module docstring for the contract."""

    name = 'abstract'
    wants_every_reference = False

    @abstractmethod
    def added(self, page: Page) -> None:
        """The page became resident."""

    def added_all(self, pages: list) -> None:
        """Several pages became resident at once, in this order (fault-around), none of
        them resident before: the same as `added` for each, which a policy may do faster."""
        for page in pages:
            self.added(page)

    @abstractmethod
    def referenced(self, page: Page) -> None:
        """The kernel saw the page's Accessed bit set (and has cleared it)."""

    @abstractmethod
    def removed(self, page: Page) -> None:
        """The page left memory for another reason than eviction; forget it."""

    def removed_all(self, pages: list) -> None:
        """Several pages left memory at once, in this order (a teardown): the same as
        `removed` for each, which a policy may do faster."""
        for page in pages:
            self.removed(page)

    @abstractmethod
    def choose_victim(self, is_referenced: IsReferenced, clear_referenced: ClearReferenced,
                      can_evict: CanEvict = always) -> Page:
        """Pick, forget and return the next page to evict (NoEvictablePage if none)."""

    @abstractmethod
    def __len__(self) -> int:
        """Resident pages tracked."""

    def non_resident_hit(self, page: Page) -> bool:
        """Would ``added(page)`` be a refault of a recently evicted page it remembers?"""
        return False

    def __repr__(self) -> str:
        return f'<{type(self).__name__} {len(self)} resident>'
