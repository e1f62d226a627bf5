"""`ukern trace summary FILE.json`: what a Chrome trace written by --trace contains, in text.

  events by kind, events by process, the page faults as `--faults` sums them up at the
  end of a run (by kind, region and process, and the hottest (process, rip) sites:
  faultstats.py), and the system calls that take the most virtual time (total and count
  per name).
"""

import json
from collections import Counter, defaultdict

from .faultstats import FaultTally, format_summary, site_text

TOP = 10


def load(path) -> dict:
    with open(path) as f:
        doc = json.load(f)
    if isinstance(doc, list):            # the bare-array form of the format
        doc = {'traceEvents': doc}
    if not isinstance(doc, dict) or not isinstance(doc.get('traceEvents', []), list):
        raise ValueError('not a Chrome trace (no traceEvents list)')
    return doc


def _track_names(events: list[dict]) -> dict[int, str]:
    return {e.get('tid'): e.get('args', {}).get('name', '')
            for e in events if e.get('ph') == 'M' and e.get('name') == 'thread_name'}


def counts(doc: dict) -> dict:
    """The numbers the summary prints, for tests and for other tools."""
    events = [e for e in doc.get('traceEvents', []) if e.get('ph') not in ('M', 'C')]   # (not counters)
    names = _track_names(doc.get('traceEvents', []))
    by_kind = Counter(e.get('cat', e.get('name', '?')) for e in events)
    by_track = Counter(names.get(e.get('tid'), f'tid {e.get("tid")}') for e in events)
    faults = fault_tally(events, names)
    sys_time = defaultdict(float)
    sys_count = Counter()
    for e in events:
        if e.get('cat') == 'syscall':
            sys_time[e['name']] += e.get('dur', 0)
            sys_count[e['name']] += 1
    return {'total': len(events), 'by_kind': dict(by_kind), 'by_track': dict(by_track),
            'faulting': {site_text(key, faults.sites[key]): n for key, n in faults.by_site.items()},
            'faults': faults, 'syscall_time_us': dict(sys_time), 'syscall_count': dict(sys_count)}


def fault_tally(events: list[dict], names: dict[int, str]) -> FaultTally:
    """The fault events of a trace, tallied by kind, region, process and (process, rip).
    A trace written before faults carried their kind and region is tallied by action."""
    from .faultbrief import KINDS
    tally = FaultTally()
    for e in events:
        if e.get('cat') != 'fault':
            continue
        a = e.get('args', {})
        rip = a.get('rip')
        tally.add(a.get('kind') or KINDS.get(a.get('action'), a.get('action', '?')),
                  a.get('region', '?'),
                  a.get('process') or names.get(e.get('pid'), f'pid {e.get("pid")}'),
                  int(rip, 16) if isinstance(rip, str) else rip, bool(a.get('major')),
                  a.get('symbol', ''), a.get('instruction') or '')
    return tally


def summarize(path) -> str:
    c = counts(load(path))
    out = [f'{path}: {c["total"]} events']
    out.append('\nevents by kind:')
    for kind, n in sorted(c['by_kind'].items(), key=lambda kv: (-kv[1], kv[0])):
        out.append(f'  {n:8d}  {kind}')
    out.append('\nevents by process:')
    for track, n in sorted(c['by_track'].items(), key=lambda kv: (-kv[1], kv[0])):
        out.append(f'  {n:8d}  {track}')
    if c['faults'].total:
        out.append(format_summary(c['faults']).rstrip('\n'))
    if c['syscall_count']:
        out.append('\nsystem calls by virtual time:')
        out.append(f'  {"total ns":>12}  {"calls":>8}  {"avg ns":>10}  name')
        ranked = sorted(c['syscall_count'], key=lambda n: (-c['syscall_time_us'][n], -c['syscall_count'][n], n))
        for name in ranked[:TOP]:
            total_ns = c['syscall_time_us'][name] * 1000
            n = c['syscall_count'][name]
            out.append(f'  {total_ns:12.0f}  {n:8d}  {total_ns / n:10.0f}  {name}')
    return '\n'.join(out) + '\n'
