"""Page-replacement policies (kernel.mm.policy): known fault counts, workload behaviour,
the kernel-facing contract (pinned, removed, resident victims), and an independent check
against libCacheSim when it is installed."""

import random

import pytest

from kernel.mm.policy import POLICIES, NoEvictablePage, make, ClockPro
from kernel.mm.policy.simulate import (simulate, miss_ratio_curve, hot_set_with_scan, loop,
                                       uniform, PolicyError)

BELADY = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5]
ALL = sorted(POLICIES)


# -- known fault counts ------------------------------------------------------------------------

def test_fifo_shows_beladys_anomaly():
    assert simulate('fifo', BELADY, 3).faults == 9
    assert simulate('fifo', BELADY, 4).faults == 10


def test_lru_known_fault_counts():
    assert simulate('lru', BELADY, 3).faults == 10
    assert simulate('lru', BELADY, 4).faults == 8


@pytest.mark.parametrize('name', ['second-chance', 'clock'])
def test_second_chance_and_clock_known_fault_counts(name):
    # By hand, pages entering with the A bit clear (the textbook model):
    # 3 frames: 1 2 3 miss; 4 1 2 5 each evict the oldest (no bits set) -> [1 2 5];
    # 1 2 hit (bits set); 3: 1 and 2 get a second chance, 5 goes -> [1 2 3] (bits clear);
    # 4 evicts 1, 5 evicts 2.  10 faults.
    # 4 frames: 1 2 3 4 miss; 1 2 hit; 5: 1, 2 second chance, 3 goes -> [4 1 2 5];
    # 1 2 hit; 3 evicts 4; 4: 1, 2 second chance, 5 goes; 5 evicts 3.  8 faults.
    assert simulate(name, BELADY, 3).faults == 10
    assert simulate(name, BELADY, 4).faults == 8


@pytest.mark.parametrize('name', ['second-chance', 'clock'])
def test_second_chance_with_fault_setting_the_bit_falls_back_towards_fifo(name):
    # When the faulting access sets the A bit (real hardware), every page gets its second
    # chance once; by hand: 9 faults with 3 frames (one fewer than above) and 10 with 4
    # (FIFO's count: the anomaly is back).
    assert simulate(name, BELADY, 3, fault_sets_referenced=True).faults == 9
    assert simulate(name, BELADY, 4, fault_sets_referenced=True).faults == 10


def test_clock_decides_exactly_like_second_chance():
    trace = hot_set_with_scan(5000, 30, 400, 0.6, seed=3) + uniform(5000, 150, seed=4)
    for frames in (10, 64, 100):
        assert simulate('clock', trace, frames) == simulate('second-chance', trace, frames)


def test_lru_has_no_anomaly_its_miss_ratio_curve_never_rises():
    trace = uniform(3000, 80, seed=5) + BELADY * 20
    curve = miss_ratio_curve('lru', trace, range(1, 90, 4))
    assert all(a >= b for a, b in zip(curve, curve[1:]))


# -- workloads -----------------------------------------------------------------------------------

def test_seq_keeps_a_hot_set_through_a_scan_better_than_lru():
    # 40 hot pages, half the accesses; the other half a scan over 5000 pages; 100 frames.
    # The hot set fits in the active list (<= half of memory with inactive_ratio 1).
    trace = hot_set_with_scan(20000, 40, 5000, 0.5, seed=1)
    seq = simulate('seq', trace, 100)
    lru = simulate('lru', trace, 100)
    scan_accesses = sum(1 for p in trace if p >= 40)
    assert seq.faults < 0.9 * lru.faults
    assert seq.faults <= scan_accesses + 100       # hot pages essentially never fault


def test_clockpro_beats_lru_on_a_loop_slightly_larger_than_memory():
    trace = loop(20000, 110)
    assert simulate('lru', trace, 100).miss_ratio == 1.0
    assert simulate('clock-pro', trace, 100).miss_ratio < 0.3


def test_clockpro_remembers_an_evicted_page_and_brings_it_back_hot():
    pol = ClockPro()
    abits = {}
    for p in range(4):
        pol.added(p)
        abits[p] = False
    victim = pol.choose_victim(abits.get, lambda p: abits.__setitem__(p, False))
    assert victim == 0 and len(pol) == 3
    assert pol.non_resident_hit(0)
    pol.added(0)                     # refault during its test period
    assert pol.test_hits == 1 and pol.n_hot == 1 and not pol.non_resident_hit(0)


# -- the kernel contract -------------------------------------------------------------------------

class Machine:
    """A tiny kernel model: resident pages with A bits, pins, munmap, reclaim scans."""

    def __init__(self, policy, frames):
        self.pol, self.frames = policy, frames
        self.abits = {}
        self.pinned = set()
        self.unmapped = set()        # removed and not faulted in again
        self.victims = []

    def is_referenced(self, page):
        assert page in self.abits, f'A bit of non-resident page {page!r} read'
        return self.abits[page]

    def clear_referenced(self, page):
        assert page in self.abits, f'A bit of non-resident page {page!r} cleared'
        self.abits[page] = False

    def can_evict(self, page):
        return page not in self.pinned

    def access(self, page):
        if page in self.abits:
            self.abits[page] = True
            if self.pol.wants_every_reference:
                self.pol.referenced(page)
            return
        if len(self.abits) >= self.frames:
            self.evict()
        self.abits[page] = False
        self.unmapped.discard(page)
        self.pol.added(page)

    def evict(self):
        v = self.pol.choose_victim(self.is_referenced, self.clear_referenced, self.can_evict)
        assert v in self.abits, f'victim {v!r} not resident'
        assert v not in self.pinned, f'pinned victim {v!r}'
        assert v not in self.unmapped, f'removed victim {v!r}'
        del self.abits[v]
        self.victims.append(v)
        assert len(self.pol) == len(self.abits)
        return v

    def unmap(self, page):
        if page in self.abits:
            del self.abits[page]
            self.pinned.discard(page)
            self.unmapped.add(page)
            self.pol.removed(page)
            assert len(self.pol) == len(self.abits)

    def reclaim_scan(self):
        """What a kernel scanner does: report and clear every set A bit."""
        for page, bit in list(self.abits.items()):
            if bit:
                self.pol.referenced(page)
                self.abits[page] = False


def churn(m, steps=4000, seed=0, pin_rate=0.0, unmap_rate=0.0):
    rng = random.Random(seed)
    for _ in range(steps):
        r = rng.random()
        if r < unmap_rate and m.abits:
            m.unmap(rng.choice(list(m.abits)))
        elif r < unmap_rate + pin_rate and m.abits:
            page = rng.choice(list(m.abits))
            if page in m.pinned:
                m.pinned.discard(page)
            elif len(m.pinned) < m.frames // 2:
                m.pinned.add(page)
        elif r < unmap_rate + pin_rate + 0.01:
            m.reclaim_scan()
        else:
            # mostly a small hot set, sometimes a wider range
            m.access(rng.randrange(12) if rng.random() < 0.6 else rng.randrange(200))


@pytest.mark.parametrize('name', ALL)
def test_pinned_pages_are_never_chosen(name):
    m = Machine(make(name), 16)
    churn(m, seed=11, pin_rate=0.05)
    assert len(m.victims) > 500
    assert not set(m.pinned) - set(m.abits)       # still pinned => still resident


@pytest.mark.parametrize('name', ALL)
def test_removed_pages_are_never_chosen(name):
    m = Machine(make(name), 16)
    churn(m, seed=12, unmap_rate=0.08)
    assert len(m.victims) > 500 and m.unmapped


@pytest.mark.parametrize('name', ALL)
def test_every_victim_is_resident(name):
    m = Machine(make(name), 16)
    churn(m, seed=13, pin_rate=0.03, unmap_rate=0.03)
    assert len(m.victims) > 500


@pytest.mark.parametrize('name', ['fifo', 'lru', 'second-chance', 'seq'])
def test_a_pinned_page_keeps_its_place_in_list_policies(name):
    m = Machine(make(name), 4)
    for p in (1, 2, 3, 4):
        m.access(p)
    m.pinned.add(1)
    assert m.evict() == 2
    m.pinned.clear()
    assert m.evict() == 1


@pytest.mark.parametrize('name', ALL)
def test_nothing_evictable_raises(name):
    m = Machine(make(name), 4)
    for p in (1, 2, 3, 4):
        m.access(p)
    m.access(1)
    m.pinned.update((1, 2, 3, 4))
    with pytest.raises(NoEvictablePage):
        m.evict()
    assert len(m.pol) == 4


def test_simulator_rejects_a_policy_that_returns_a_non_resident_page():
    class Liar(type(make('fifo'))):
        def choose_victim(self, *callbacks):
            super().choose_victim(*callbacks)
            return 'nowhere'
    with pytest.raises(PolicyError):
        simulate(Liar(), BELADY, 3)


def test_registry_has_the_six_policies():
    assert set(POLICIES) == {'fifo', 'second-chance', 'clock', 'seq', 'clock-pro', 'lru'}
    for name in POLICIES:
        assert make(name).name == name and len(make(name)) == 0


# -- independent check against libCacheSim -------------------------------------------------------

N = 50_000
FRAMES = 100
WORKLOADS = {
    'hot-scan': lambda: hot_set_with_scan(N, 40, 5000, 0.5, seed=1),
    'loop': lambda: loop(N, 110),
    'uniform': lambda: uniform(N, 200, seed=2),
}
_traces = {}


def _trace(workload):
    if workload not in _traces:
        _traces[workload] = WORKLOADS[workload]()
    return _traces[workload]


@pytest.fixture(scope='module')
def lcs():
    try:
        import libcachesim
    except Exception as e:          # not installed, or its native part does not load
        pytest.skip(f'libcachesim not usable here ({e!r}); '
                    f'`pip install libcachesim` into the venv to run the cross-check')
    return libcachesim


def lcs_miss_ratio(lcs, cls, trace, frames, **params):
    """Feed integer keys with unit sizes, one GET per access; cache size = frames objects."""
    cache = getattr(lcs, cls)(frames, **params)
    misses = 0
    for key in trace:
        if not cache.get(lcs.Request(obj_size=1, obj_id=key + 1, op=lcs.ReqOp.OP_GET)):
            misses += 1
    return misses / len(trace)


# (our policy, libCacheSim class, its parameters, workloads, tolerance in miss ratio).
# FIFO and LRU must agree exactly.  CLOCK/second chance: "a few percent" is allowed for
# tie-breaking and initialisation details (libCacheSim's Clock inserts with frequency 0,
# like our default); measured difference is 0 on all three workloads.  CLOCK-Pro:
# libCacheSim's ClockPro is a simplified variant (a referenced cold page is promoted at once,
# no test-period check; its cold-size adaptation differs; the Python default
# init_ratio_cold=0.5 even refuses inserts, 75% misses on uniform), so it is compared with
# its C default init_ratio_cold=1 on loop and uniform only, with 0.05 (measured: 0.023 on
# loop, 0.003 on uniform).  On hot-scan it misses 0.62 against our 0.50 (and LRU's 0.59):
# not comparable, so not asserted.
CROSS = [
    ('fifo', 'FIFO', {}, ['hot-scan', 'loop', 'uniform'], 0.0),
    ('lru', 'LRU', {}, ['hot-scan', 'loop', 'uniform'], 0.0),
    ('clock', 'Clock', {}, ['hot-scan', 'loop', 'uniform'], 0.02),
    ('second-chance', 'Clock', {}, ['hot-scan', 'loop', 'uniform'], 0.02),
    ('clock-pro', 'ClockPro', {'init_ratio_cold': 1.0}, ['loop', 'uniform'], 0.05),
]


@pytest.mark.parametrize('ours,theirs,params,workload,tol', [
    pytest.param(o, t, p, w, tol, id=f'{o}-{w}') for o, t, p, ws, tol in CROSS for w in ws])
def test_miss_ratio_agrees_with_libcachesim(lcs, ours, theirs, params, workload, tol):
    trace = _trace(workload)
    mine = simulate(ours, trace, FRAMES).miss_ratio
    ref = lcs_miss_ratio(lcs, theirs, trace, FRAMES, **params)
    assert abs(mine - ref) <= tol, f'{ours} {mine:.4f} vs libCacheSim {theirs} {ref:.4f}'
