"""The page-fault summary: what `--faults` prints when the run ends, and the fault part of
`ukern trace summary FILE.json`.

  page faults: 342 (3 major, 339 minor)

  by kind:                 demand-zero, file-page, cow-break, ... (faultbrief.py)
  by region:               [heap], [stack], //anon, .text, data.txt (a file without its offsets)
  by process:              pid 1 (forker), pid 2 (forker)
  hottest sites (process, rip, symbol):
          64  pid 1 (faultdemo)  0x1001a2c main+0x4c  mov byte ptr [rax], 1

A site is a (process, instruction address) pair: two programs with code at the same
address are two sites.  The tally is fed from live fault records or from a trace's
fault events, so both print the same.
"""

from collections import Counter
from dataclasses import dataclass

from .where import region_family

TOP = 10
SYSCALL_SITE = '(in a system call: the kernel copying user memory)'


@dataclass
class Site:
    symbol: str
    instruction: str


class FaultTally:
    def __init__(self):
        self.total = 0
        self.major = 0
        self.by_kind = Counter()
        self.by_region = Counter()
        self.by_process = Counter()
        self.by_site = Counter()                 # (process, rip or None) -> faults
        self.sites: dict[tuple, Site] = {}

    def add(self, kind: str, region: str, process: str, rip: int | None, major: bool = False,
            symbol: str = '', instruction=None) -> None:
        """One fault; `instruction` is its text, or a function giving it (asked once per site)."""
        self.total += 1
        self.major += bool(major)
        self.by_kind[kind] += 1
        self.by_region[region_family(region)] += 1
        self.by_process[process] += 1
        key = (process, rip)
        self.by_site[key] += 1
        if key not in self.sites:
            text = instruction() if callable(instruction) else instruction
            self.sites[key] = Site(symbol, text or '')

    def add_record(self, r, kernel=None) -> None:
        """A faultbrief.FaultRecord; the instruction is read from the process's memory."""
        def instruction() -> str:
            if kernel is None or r.rip is None:
                return ''
            from .faultview import instruction_at
            return instruction_at(kernel, r.tid, r.rip)
        self.add(r.kind, r.region, r.process, r.rip, r.major, r.symbol, instruction)

    def hottest(self, n: int = TOP) -> list[tuple[tuple, int]]:
        """The n sites with most faults; ties in order of process, then address."""
        return sorted(self.by_site.items(),
                      key=lambda kv: (-kv[1], kv[0][0], -1 if kv[0][1] is None else kv[0][1]))[:n]


def _ranked(counter: Counter) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))


def site_text(key: tuple, site: Site) -> str:
    process, rip = key
    if rip is None:
        return f'{process}  {SYSCALL_SITE}'
    words = [process, f'{rip:#x}' + (f' {site.symbol}' if site.symbol else '')]
    if site.instruction:
        words.append(site.instruction)
    return '  '.join(words)


def format_summary(t: FaultTally) -> str:
    out = [f'\npage faults: {t.total} ({t.major} major, {t.total - t.major} minor)']
    if not t.total:
        return out[0] + '\n'
    for title, counter in (('by kind', t.by_kind), ('by region', t.by_region), ('by process', t.by_process)):
        out.append(f'\n{title}:')
        out += [f'  {n:8d}  {name}' for name, n in _ranked(counter)]
    out.append('\nhottest sites (process, rip, symbol):')
    out += [f'  {n:8d}  {site_text(key, t.sites[key])}' for key, n in t.hottest()]
    return '\n'.join(out) + '\n'
