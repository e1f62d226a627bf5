"""Replacement policies compared: the same workloads under each policy and several memory sizes.

  python bench/policies.py [--quick]     -> prints a summary, writes bench/POLICIES.md
                                             and bench/policies.png (if matplotlib is installed)

For now the traces are *reference traces* run through the trace-driven simulator
(kernel/mm/policy/simulate.py), deterministic for their seeds:

  hot-scan  a hot set (1/5 of the footprint) taking half the accesses, at random, while a
            sequential scan runs round the other 4/5 of the pages (the scan comes round
            again, so in memory above half the footprint part of it can be kept too);
  loop      0, 1, ..., footprint-1 over and over (at 7/8 of the footprint the loop is
            slightly larger than memory);
  uniform   independent uniformly random accesses to all the pages.

Memory sizes go from 1/8 to 1.25 of each trace's footprint (its number of distinct pages).
Every fault is counted, the cold ones too (the footprint's worth, a few per cent of the run):
in the simulator every fault is a major fault, reading the page in.

A second source of traces plugs in through ``compare``: any ``{name: [page key, ...]}`` works,
for instance page keys recorded from the kernel while a guest program runs (keys only need to
be hashable, e.g. ``(object, index)``)::

    from bench.policies import compare, markdown, plot
    rows = compare({'grep': keys_from_kernel}, policies=['lru', 'clock', 'seq'])
    text = markdown(rows, source='recorded from guest programs under ukern')

or from the command line, one key per line in a text file: ``--trace grep=keys.txt``.
"""

import argparse
import os
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Hashable, Iterable, Mapping, Sequence

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kernel.mm.policy import POLICIES                                      # noqa: E402
from kernel.mm.policy.simulate import simulate, hot_set_with_scan, loop, uniform  # noqa: E402

# Memory size as a fraction of the workload's footprint.
FRACTIONS = (Fraction(1, 8), Fraction(1, 4), Fraction(3, 8), Fraction(1, 2), Fraction(5, 8),
             Fraction(3, 4), Fraction(7, 8), Fraction(1), Fraction(5, 4))

# Miss ratios closer than this are a tie in all but name (the summary says so).
CLOSE = 0.01

# (footprint in pages, accesses per trace)
FULL = (500, 50_000)
QUICK = (200, 10_000)


@dataclass(frozen=True)
class Row:
    """One case: a workload's trace under one policy with one memory size."""
    workload: str
    footprint: int        # distinct pages in the trace
    frames: int           # memory size in pages
    policy: str
    faults: int           # major faults (cold ones included)
    accesses: int

    @property
    def miss_ratio(self) -> float:
        return self.faults / self.accesses if self.accesses else 0.0

    @property
    def memory_fraction(self) -> float:
        return self.frames / self.footprint if self.footprint else 0.0


# -- traces ---------------------------------------------------------------------------------

def reference_traces(footprint: int = FULL[0], accesses: int = FULL[1]) -> dict[str, list[int]]:
    """The three reference workloads, each touching exactly ``footprint`` pages (if the run
    is long enough), deterministic for their seeds."""
    hot = max(1, footprint // 5)
    return {
        'hot-scan': hot_set_with_scan(accesses, hot, footprint - hot, 0.5, seed=1),
        'loop': loop(accesses, footprint),
        'uniform': uniform(accesses, footprint, seed=2),
    }


def sizes_for(footprint: int, fractions: Iterable = FRACTIONS) -> list[int]:
    """Memory sizes in pages, ``fraction * footprint`` rounded (at least 1, no repeats)."""
    out = []
    for f in fractions:
        n = max(1, round(f * footprint))
        if n not in out:
            out.append(n)
    return out


def load_trace(path: str | Path) -> list[Hashable]:
    """A trace file: one page key per line (ints where they parse, else the text)."""
    keys: list[Hashable] = []
    for line in Path(path).read_text().split('\n'):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        try:
            keys.append(int(line, 0))
        except ValueError:
            keys.append(line)
    return keys


# -- the comparison -------------------------------------------------------------------------

def compare(traces: Mapping[str, Sequence[Hashable]],
            sizes: Iterable[int] | Mapping[str, Iterable[int]] | None = None,
            policies: Iterable[str] | None = None, **simulate_kwargs) -> list[Row]:
    """Run every trace under every policy and memory size: one ``Row`` per
    (workload, size, policy), in that order.

    ``sizes`` is one list of page counts for all traces, a ``{workload: sizes}`` mapping, or
    None for ``FRACTIONS`` of each trace's footprint.  ``policies`` are names registered in
    ``kernel.mm.policy.POLICIES`` (default: all).  Extra keyword arguments go to ``simulate``
    (e.g. ``fault_sets_referenced=True``).
    """
    names = list(POLICIES if policies is None else policies)
    for name in names:
        if name not in POLICIES:
            raise KeyError(f'unknown replacement policy {name!r} (have {", ".join(POLICIES)})')
    rows = []
    for workload, trace in traces.items():
        trace = list(trace)
        footprint = len(set(trace))
        if sizes is None:
            frames_list = sizes_for(footprint)
        elif isinstance(sizes, Mapping):
            frames_list = list(sizes[workload])
        else:
            frames_list = list(sizes)
        for frames in frames_list:
            for name in names:
                r = simulate(name, trace, frames, **simulate_kwargs)
                rows.append(Row(workload, footprint, frames, name, r.faults, r.accesses))
    return rows


# -- output ---------------------------------------------------------------------------------

def _workloads(rows):
    return list(dict.fromkeys(r.workload for r in rows))


def summary(rows: Sequence[Row]) -> str:
    """Per workload: memory size down, policies across, miss ratio (best in bold)."""
    out = []
    for workload in _workloads(rows):
        wrows = [r for r in rows if r.workload == workload]
        policies = list(dict.fromkeys(r.policy for r in wrows))
        sizes = list(dict.fromkeys(r.frames for r in wrows))
        fp = wrows[0].footprint
        out.append(f'**{workload}** ({fp} pages, {wrows[0].accesses:,} accesses): miss ratio\n')
        out.append('| memory (pages) | memory / footprint | ' + ' | '.join(policies) + ' | best |')
        out.append('|---:|---:|' + '---:|' * len(policies) + '---|')
        for frames in sizes:
            cell = {r.policy: r for r in wrows if r.frames == frames}
            best = min(cell[p].faults for p in policies)
            winners = [p for p in policies if cell[p].faults == best]
            vals = [f'**{cell[p].miss_ratio:.3f}**' if cell[p].faults == best
                    else f'{cell[p].miss_ratio:.3f}' for p in policies]
            if len(winners) == len(policies):
                verdict = 'all equal'
            else:
                verdict = ', '.join(winners)
                spread = max(cell[p].miss_ratio for p in policies) - cell[winners[0]].miss_ratio
                if spread < CLOSE:
                    verdict += f' (all within {CLOSE})'
            out.append(f'| {frames} | {frames / fp:.3g} | ' + ' | '.join(vals) + f' | {verdict} |')
        out.append('')
    return '\n'.join(out)


def table(rows: Sequence[Row]) -> str:
    """The full table: one row per (workload, memory size, policy)."""
    out = ['| workload | memory (pages) | memory / footprint | policy | major faults | accesses '
           '| miss ratio |',
           '|---|---:|---:|---|---:|---:|---:|']
    for r in rows:
        out.append(f'| {r.workload} | {r.frames} | {r.memory_fraction:.3g} | {r.policy} | '
                   f'{r.faults} | {r.accesses} | {r.miss_ratio:.4f} |')
    return '\n'.join(out)


def markdown(rows: Sequence[Row], source: str = 'reference traces, trace-driven simulator',
             notes: str = '') -> str:
    """The whole bench/POLICIES.md text: a summary per workload, then the full table."""
    return (f'## Replacement policies: {source}\n\n'
            + (notes + '\n\n' if notes else '')
            + 'Miss ratio = major faults / accesses; the best policy for each memory size '
              '(fewest faults) in bold.\n\n'
            + summary(rows) + '\n'
            + '<details><summary>All cases: major faults and miss ratio</summary>\n\n'
            + table(rows) + '\n\n</details>\n')


# Line styles: clock decides exactly like second chance, so its line is drawn dashed on top.
STYLE = {
    'fifo': dict(marker='o', color='tab:gray'),
    'second-chance': dict(marker='s', color='tab:blue', linewidth=3, alpha=0.6),
    'clock': dict(marker='x', color='navy', linestyle='--'),
    'seq': dict(marker='^', color='tab:green'),
    'clock-pro': dict(marker='D', color='tab:red'),
    'lru': dict(marker='v', color='tab:orange'),
}


def plot(rows: Sequence[Row], path: str | Path,
         title: str = 'Page replacement: miss ratio against memory size') -> bool:
    """Miss ratio against memory size, one subplot per workload and one line per policy.
    Returns False (and writes nothing) if matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    workloads = _workloads(rows)
    fig, axes = plt.subplots(1, len(workloads), figsize=(5 * len(workloads), 4.6), sharey=True,
                             squeeze=False)
    handles = {}
    for ax, workload in zip(axes[0], workloads):
        wrows = [r for r in rows if r.workload == workload]
        curves: dict[tuple, list[str]] = {}
        for policy in dict.fromkeys(r.policy for r in wrows):
            pts = [(r.memory_fraction, r.miss_ratio) for r in wrows if r.policy == policy]
            (line,) = ax.plot([x for x, _ in pts], [y for _, y in pts], label=policy,
                              markersize=5, **STYLE.get(policy, {}))
            handles.setdefault(policy, line)
            curves.setdefault(tuple(r.faults for r in wrows if r.policy == policy),
                              []).append(policy)
        same = [' = '.join(g) for g in curves.values() if len(g) > 1]
        if same:   # lines drawn on top of each other: say so
            ax.text(0.03, 0.03, 'identical:\n' + '\n'.join(same), transform=ax.transAxes,
                    fontsize=8, va='bottom', ha='left',
                    bbox=dict(boxstyle='round', facecolor='white', alpha=0.8, edgecolor='0.8'))
        ax.set_title(f'{workload}\n({wrows[0].footprint} pages, {wrows[0].accesses:,} accesses)',
                     fontsize=10)
        ax.set_xlabel('memory size / workload footprint')
        ax.set_xlim(0, None)
        ax.set_ylim(0, 1.05)
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel('miss ratio (major faults / accesses)')
    fig.suptitle(title)
    fig.legend(handles.values(), handles.keys(), loc='lower center', ncol=len(handles),
               frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# -- main -----------------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true',
                    help=f'smaller traces ({QUICK[0]} pages, {QUICK[1]:,} accesses) '
                         f'instead of {FULL[0]} pages, {FULL[1]:,} accesses')
    ap.add_argument('--policies', help='comma-separated policy names (default: all)')
    ap.add_argument('--trace', action='append', default=[], metavar='NAME=FILE',
                    help='compare on this recorded trace (one page key per line) instead of '
                         'the reference traces; may be repeated')
    ap.add_argument('--out', default=str(ROOT / 'bench' / 'POLICIES.md'))
    ap.add_argument('--plot', default=str(ROOT / 'bench' / 'policies.png'))
    args = ap.parse_args(argv)

    policies = args.policies.split(',') if args.policies else None
    if args.trace:
        traces = {}
        for spec in args.trace:
            name, _, file = spec.partition('=')
            if not file:
                ap.error(f'--trace wants NAME=FILE, not {spec!r}')
            traces[name] = load_trace(file)
        source = 'recorded traces, trace-driven simulator'
        notes = 'Traces: ' + ', '.join(f'`{n}` from `{f}`' for n, f in
                                       (s.partition('=')[::2] for s in args.trace)) + '.'
    else:
        footprint, accesses = QUICK if args.quick else FULL
        traces = reference_traces(footprint, accesses)
        source = 'reference traces, trace-driven simulator'
        notes = (f'Written by `python bench/policies.py{" --quick" if args.quick else ""}` '
                 '(part of `make bench`). Each workload touches '
                 f'{footprint} pages in {accesses:,} accesses (deterministic seeds): '
                 f'**hot-scan** = a hot set of {max(1, footprint // 5)} pages taking half the '
                 'accesses at random while a sequential scan runs round the other pages '
                 '(and comes round again); '
                 '**loop** = all pages in order, over and over (slightly larger than memory at '
                 '7/8 of the footprint); **uniform** = independent random accesses. '
                 'Simulated with kernel/mm/policy/simulate.py (a fault does not set the new '
                 'page\'s A bit); every fault is a major fault and the cold ones are counted. '
                 'clock decides exactly like second-chance, so their columns agree.')
    rows = compare(traces, policies=policies)

    print(summary(rows))
    plotted = plot(rows, args.plot, f'Page replacement: miss ratio against memory size ({source})')
    if plotted:
        rel = os.path.relpath(args.plot, os.path.dirname(os.path.abspath(args.out)))
        notes += f'\n\n![miss ratio against memory size, one line per policy]({rel})'
    Path(args.out).write_text('# Replacement-policy comparison\n\n' + markdown(rows, source, notes))
    print(f'wrote {args.out}')
    if plotted:
        print(f'wrote {args.plot}')
    else:
        print('matplotlib is not installed: no plot written (the table is complete). '
              'Install it with `.venv/bin/pip install matplotlib`.')
    return 0


if __name__ == '__main__':
    sys.exit(main())
