"""The faults of a run drawn over virtual time against address: the working-set picture.

  ukern trace plot out.json -o faults.png     from a trace written by --trace
  ukern run --plot faults.png PROGRAM         from the run itself

One dot per fault, coloured by kind (faultbrief.py).  User addresses span 128 TiB and a
program's pages sit in a few small islands (its image, the heap, mmaps, the stack), so
the picture has one band per island, each with its own address scale: a band gathers
the faults whose addresses lie within BAND_GAP of each other.  matplotlib draws it; it is
imported only here, and only when a picture is asked for (`make bench` installs it).
"""

from dataclasses import dataclass

MISSING = 'matplotlib is not installed: pip install matplotlib (or make bench, which installs it)'
BAND_GAP = 1 << 30           # addresses further apart than this go in different bands
MAX_BANDS = 6                # the rest join the band below them
PAGE_PAD = 4 * 4096          # room above and below a band's highest and lowest fault
COLOURS = {'demand-zero': 'tab:blue', 'file-page': 'tab:green', 'cow-break': 'tab:orange',
           'stack-growth': 'tab:purple', 'swap-in': 'tab:red', 'protection': 'black',
           'io-wait': 'tab:olive', 'spurious': 'tab:gray', 'object': 'tab:cyan',
           'shm': 'tab:pink', 'no-memory': 'tab:brown'}


@dataclass
class Point:
    time: int           # virtual ns
    addr: int
    kind: str
    region: str


def have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def points_of_records(records) -> list[Point]:
    return [Point(r.time, r.addr, r.kind, r.region) for r in records]


def points_of_trace(doc: dict) -> list[Point]:
    """The fault events of a Chrome trace (ts in microseconds, addr in hex)."""
    from .faultbrief import KINDS
    out = []
    for e in doc.get('traceEvents', []):
        if e.get('cat') != 'fault' or e.get('ph') == 'M':
            continue
        a = e.get('args', {})
        addr = a.get('addr')
        if not isinstance(addr, str):
            continue
        kind = a.get('kind') or KINDS.get(a.get('action'), a.get('action', '?'))
        out.append(Point(round(e.get('ts', 0) * 1000), int(addr, 16), kind, a.get('region', '')))
    return out


def bands(points: list[Point]) -> list[list[Point]]:
    """The points split into islands of nearby addresses, highest addresses first (the
    stack on top, as the address space is usually drawn)."""
    ordered = sorted(points, key=lambda p: p.addr)
    groups: list[list[Point]] = []
    for p in ordered:
        if groups and p.addr - groups[-1][-1].addr <= BAND_GAP:
            groups[-1].append(p)
        else:
            groups.append([p])
    while len(groups) > MAX_BANDS:                 # merge the two closest neighbours
        gaps = [groups[i + 1][0].addr - groups[i][-1].addr for i in range(len(groups) - 1)]
        i = gaps.index(min(gaps))
        groups[i:i + 2] = [groups[i] + groups[i + 1]]
    return groups[::-1]


def band_title(group: list[Point]) -> str:
    """The regions a band holds, most faulted first ('[heap]', '.bss, .data')."""
    counts: dict[str, int] = {}
    for p in group:
        name = p.region.rsplit('@', 1)[0] if '@' in p.region and not p.region.startswith('[') else p.region
        counts[name or '?'] = counts.get(name or '?', 0) + 1
    names = sorted(counts, key=lambda n: (-counts[n], n))
    return ', '.join(names[:3]) + (', ...' if len(names) > 3 else '')


def plot_faults(points: list[Point], out: str, title: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter
    groups = bands(points) or [[]]
    fig, axes = plt.subplots(len(groups), 1, sharex=True, squeeze=False,
                             figsize=(10, 1.2 + 1.8 * len(groups)))
    hexa = FuncFormatter(lambda y, _pos: f'{int(y):#x}')
    kinds = sorted({p.kind for p in points})
    for ax, group in zip(axes[:, 0], groups):
        for kind in kinds:
            mine = [p for p in group if p.kind == kind]
            if mine:
                ax.scatter([p.time / 1e6 for p in mine], [p.addr for p in mine], s=6,
                           color=COLOURS.get(kind, 'tab:gray'), label=kind, linewidths=0)
        if group:                   # a band of one page still shows a few pages around it
            low, high = min(p.addr for p in group), max(p.addr for p in group)
            pad = max(PAGE_PAD, (high - low) // 20)
            ax.set_ylim(max(0, low - pad), high + pad)
        ax.yaxis.set_major_formatter(hexa)
        ax.set_ylabel(band_title(group) if group else 'address', fontsize=8)
        ax.tick_params(labelsize=7)
    axes[-1, 0].set_xlabel('virtual time (ms)')
    handles = [plt.Line2D([], [], marker='o', linestyle='', color=COLOURS.get(k, 'tab:gray'), label=k)
               for k in kinds]
    if handles:
        fig.legend(handles=handles, loc='upper right', fontsize=8, ncol=min(len(handles), 4))
    fig.suptitle(f'{title}: {len(points)} page faults', fontsize=10, x=0.02, ha='left')
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.savefig(out, dpi=120)
    plt.close(fig)
