"""Page-replacement policies for reclaim, by name.

    from kernel.mm.policy import make, POLICIES
    policy = make('clock')            # or POLICIES['clock']()

The interface every policy implements is described in ``kernel.mm.policy.base``; a lab can
add its own with ``register('mine', MyPolicy)``.  ``kernel.mm.policy.simulate`` runs a policy
over a trace of page keys.
"""

from .base import ReplacementPolicy, NoEvictablePage, always
from .fifo import FIFO
from .second_chance import SecondChance
from .clock import Clock
from .seq import SEQ
from .clockpro import ClockPro
from .lru import LRU

POLICIES: dict[str, type[ReplacementPolicy]] = {
    'fifo': FIFO,
    'second-chance': SecondChance,
    'clock': Clock,
    'seq': SEQ,
    'clock-pro': ClockPro,
    'lru': LRU,
}


def register(name: str, cls: type[ReplacementPolicy]) -> None:
    POLICIES[name] = cls


def make(name: str, **kwargs) -> ReplacementPolicy:
    try:
        cls = POLICIES[name]
    except KeyError:
        raise KeyError(f'unknown replacement policy {name!r} (have {", ".join(POLICIES)})') from None
    return cls(**kwargs)


__all__ = ['ReplacementPolicy', 'NoEvictablePage', 'always', 'POLICIES', 'register', 'make',
           'FIFO', 'SecondChance', 'Clock', 'SEQ', 'ClockPro', 'LRU']
