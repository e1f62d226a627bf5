"""Trace-driven simulation of a replacement policy, and the workloads to feed it.

    simulate('clock', trace, frames=64) -> Result(faults, hits, evictions)

Each trace entry is one access to a page key.  The model of the hardware:

* an access to a resident page is a hit and sets the page's Accessed bit (a dict here);
  policies with ``wants_every_reference`` (exact LRU) also get ``referenced(page)``;
* an access to a non-resident page is a fault: if all ``frames`` are in use the policy's
  ``choose_victim`` picks a page to evict (reading and clearing A bits through the dict),
  then the page is ``added``.  By default the new page's A bit is clear -- the textbook
  convention (and libCacheSim's), under which the fault counts in the tests are computed.
  ``fault_sets_referenced=True`` models real hardware, where the restarted access sets it.

The simulator checks the policy: a victim must be resident, and ``len(policy)`` must follow
the number of resident pages.  Violations raise ``PolicyError``.

Workloads (deterministic for a given seed; keys are ints, so libCacheSim can run them too):
``hot_set_with_scan``, ``loop``, ``uniform``.
"""

import random
from dataclasses import dataclass
from typing import Callable, Hashable, Iterable

from . import make
from .base import ReplacementPolicy


class PolicyError(AssertionError):
    """The policy broke the interface contract."""


@dataclass(frozen=True)
class Result:
    faults: int
    hits: int
    evictions: int

    @property
    def accesses(self) -> int:
        return self.faults + self.hits

    @property
    def miss_ratio(self) -> float:
        return self.faults / self.accesses if self.accesses else 0.0


PolicySpec = str | ReplacementPolicy | Callable[[], ReplacementPolicy]


def _instance(policy: PolicySpec) -> ReplacementPolicy:
    if isinstance(policy, str):
        return make(policy)
    if isinstance(policy, ReplacementPolicy):
        return policy
    return policy()


def simulate(policy: PolicySpec, trace: Iterable[Hashable], frames: int, *,
             fault_sets_referenced: bool = False,
             can_evict: Callable[[Hashable], bool] | None = None) -> Result:
    """Run ``trace`` through ``policy`` (a name, an instance or a factory) with ``frames``."""
    if frames < 1:
        raise ValueError('frames must be >= 1')
    pol = _instance(policy)
    abits: dict = {}                      # resident page -> Accessed bit
    every = pol.wants_every_reference
    faults = hits = evictions = 0

    def is_referenced(page):
        if page not in abits:
            raise PolicyError(f'{pol.name}: is_referenced({page!r}) of a non-resident page')
        return abits[page]

    def clear_referenced(page):
        if page not in abits:
            raise PolicyError(f'{pol.name}: clear_referenced({page!r}) of a non-resident page')
        abits[page] = False

    evictable = can_evict or (lambda page: True)
    for page in trace:
        if page in abits:
            hits += 1
            abits[page] = True
            if every:
                pol.referenced(page)
            continue
        faults += 1
        if len(abits) >= frames:
            victim = pol.choose_victim(is_referenced, clear_referenced, evictable)
            if victim not in abits:
                raise PolicyError(f'{pol.name}: victim {victim!r} is not resident')
            if not evictable(victim):
                raise PolicyError(f'{pol.name}: victim {victim!r} may not be evicted')
            del abits[victim]
            evictions += 1
        abits[page] = fault_sets_referenced
        pol.added(page)
        if len(pol) != len(abits):
            raise PolicyError(f'{pol.name}: tracks {len(pol)} pages, {len(abits)} resident')
    return Result(faults, hits, evictions)


def miss_ratio_curve(policy: str | Callable[[], ReplacementPolicy], trace: Iterable[Hashable],
                     sizes: Iterable[int], **kwargs) -> list[float]:
    """Miss ratio for each memory size; ``policy`` is a name or a factory (one run per size)."""
    if isinstance(policy, ReplacementPolicy):
        raise TypeError('miss_ratio_curve needs a name or a factory: each size needs a fresh policy')
    trace = list(trace)
    return [simulate(policy, trace, n, **kwargs).miss_ratio for n in sizes]


# -- workloads -------------------------------------------------------------------------------

def hot_set_with_scan(n: int, hot_pages: int, scan_pages: int, hot_fraction: float = 0.5,
                      seed: int = 0) -> list[int]:
    """A hot set used over and over while a long sequential scan runs through it.

    Each access is, with probability ``hot_fraction``, a random page of the hot set (keys
    ``0 .. hot_pages-1``), otherwise the next page of a sequential scan over ``scan_pages``
    other pages (keys from ``hot_pages`` on), wrapping round.  With ``scan_pages`` much larger
    than memory the scan pages are never reused in time: LRU lets them push the hot set out.
    """
    rng = random.Random(seed)
    out = []
    pos = 0
    for _ in range(n):
        if rng.random() < hot_fraction:
            out.append(rng.randrange(hot_pages))
        else:
            out.append(hot_pages + pos)
            pos = (pos + 1) % scan_pages
    return out


def loop(n: int, loop_pages: int, seed: int = 0) -> list[int]:
    """``0, 1, ..., loop_pages-1`` over and over (deterministic; seed accepted for symmetry).

    With a loop slightly larger than memory LRU (and CLOCK, FIFO) miss on every access.
    """
    return [i % loop_pages for i in range(n)]


def uniform(n: int, pages: int, seed: int = 0) -> list[int]:
    """Independent uniformly random accesses to ``pages`` pages."""
    rng = random.Random(seed)
    return [rng.randrange(pages) for _ in range(n)]


WORKLOADS = {'hot-scan': hot_set_with_scan, 'loop': loop, 'uniform': uniform}


def main(argv=None) -> None:
    """``python -m kernel.mm.policy.simulate [frames] [accesses]``: a miss-ratio table."""
    import sys
    from . import POLICIES
    args = sys.argv[1:] if argv is None else argv
    frames = int(args[0]) if args else 100
    n = int(args[1]) if len(args) > 1 else 20000
    traces = {
        'hot-scan': hot_set_with_scan(n, frames * 2 // 5, 50 * frames, 0.5, seed=1),
        'loop': loop(n, frames * 11 // 10),
        'uniform': uniform(n, 2 * frames, seed=2),
    }
    print(f'miss ratio, {frames} frames, {n} accesses')
    print(f'{"policy":14}' + ''.join(f'{w:>10}' for w in traces))
    for name in POLICIES:
        print(f'{name:14}' + ''.join(f'{simulate(name, t, frames).miss_ratio:10.4f}'
                                      for t in traces.values()))


if __name__ == '__main__':
    main()
