"""`ukern trace summary FILE.json`: what a Chrome trace written by --trace contains, in text.

  events by kind, events by process, the instructions that fault most, and the system
  calls that take the most virtual time (total and count per name).
"""

import json
from collections import Counter, defaultdict

TOP = 10


def load(path) -> dict:
    with open(path) as f:
        doc = json.load(f)
    if isinstance(doc, list):            # the bare-array form of the format
        doc = {'traceEvents': doc}
    return doc


def _track_names(events: list[dict]) -> dict[int, str]:
    return {e.get('tid'): e.get('args', {}).get('name', '')
            for e in events if e.get('ph') == 'M' and e.get('name') == 'thread_name'}


def counts(doc: dict) -> dict:
    """The numbers the summary prints, for tests and for other tools."""
    events = [e for e in doc.get('traceEvents', []) if e.get('ph') != 'M']
    names = _track_names(doc.get('traceEvents', []))
    by_kind = Counter(e.get('cat', e.get('name', '?')) for e in events)
    by_track = Counter(names.get(e.get('tid'), f'tid {e.get("tid")}') for e in events)
    faulting = Counter()
    for e in events:
        if e.get('cat') == 'fault':
            a = e.get('args', {})
            if a.get('rip'):
                faulting[f'{a["rip"]}: {a.get("instruction") or "?"}'] += 1
            else:
                faulting['(in the kernel, copying user memory)'] += 1
    sys_time = defaultdict(float)
    sys_count = Counter()
    for e in events:
        if e.get('cat') == 'syscall':
            sys_time[e['name']] += e.get('dur', 0)
            sys_count[e['name']] += 1
    return {'total': len(events), 'by_kind': dict(by_kind), 'by_track': dict(by_track),
            'faulting': dict(faulting), 'syscall_time_us': dict(sys_time),
            'syscall_count': dict(sys_count)}


def summarize(path) -> str:
    c = counts(load(path))
    out = [f'{path}: {c["total"]} events']
    out.append('\nevents by kind:')
    for kind, n in sorted(c['by_kind'].items(), key=lambda kv: (-kv[1], kv[0])):
        out.append(f'  {n:8d}  {kind}')
    out.append('\nevents by process:')
    for track, n in sorted(c['by_track'].items(), key=lambda kv: (-kv[1], kv[0])):
        out.append(f'  {n:8d}  {track}')
    if c['faulting']:
        out.append('\ninstructions that fault most:')
        for where, n in Counter(c['faulting']).most_common(TOP):
            out.append(f'  {n:8d}  {where}')
    if c['syscall_count']:
        out.append('\nsystem calls by virtual time:')
        out.append(f'  {"total ns":>12}  {"calls":>8}  {"avg ns":>10}  name')
        ranked = sorted(c['syscall_count'], key=lambda n: (-c['syscall_time_us'][n], -c['syscall_count'][n], n))
        for name in ranked[:TOP]:
            total_ns = c['syscall_time_us'][name] * 1000
            n = c['syscall_count'][name]
            out.append(f'  {total_ns:12.0f}  {n:8d}  {total_ns / n:10.0f}  {name}')
    return '\n'.join(out) + '\n'
