"""bench/policies.py: the replacement-policy comparison behind `make bench` (simulator-driven)."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location('bench_policies', ROOT / 'bench' / 'policies.py')
bp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bp)

BELADY = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5]


def tiny_traces():
    return bp.reference_traces(footprint=20, accesses=400)


def test_reference_traces_touch_the_footprint_and_are_deterministic():
    a, b = bp.reference_traces(40, 2000), bp.reference_traces(40, 2000)
    assert a == b
    assert set(a) == {'hot-scan', 'loop', 'uniform'}
    for trace in a.values():
        assert len(trace) == 2000
        assert len(set(trace)) == 40


def test_one_result_per_workload_size_and_policy():
    traces = tiny_traces()
    sizes = [2, 5, 10, 20, 25]
    policies = ['fifo', 'clock', 'lru', 'clock-pro']
    rows = bp.compare(traces, sizes, policies)
    keys = [(r.workload, r.frames, r.policy) for r in rows]
    assert keys == [(w, s, p) for w in traces for s in sizes for p in policies]
    for r in rows:
        assert 0.0 <= r.miss_ratio <= 1.0
        assert r.accesses == 400
        assert r.footprint == 20


def test_default_sizes_are_fractions_of_each_footprint_and_all_policies_run():
    rows = bp.compare({'loop': list(range(16)) * 5})
    assert sorted({r.frames for r in rows}) == [2, 4, 6, 8, 10, 12, 14, 16, 20]
    assert {r.policy for r in rows} == set(bp.POLICIES)
    # the whole loop fits from 1.0 of the footprint on: only cold faults
    assert all(r.faults == 16 for r in rows if r.frames >= 16)


def test_per_workload_sizes_and_arbitrary_hashable_keys():
    # Traces recorded from the kernel name pages by (object, index): any hashable key works.
    kernel_trace = [('file', i % 7) for i in range(100)]
    rows = bp.compare({'k': kernel_trace, 'b': BELADY}, {'k': [3, 7], 'b': [3]}, ['lru'])
    assert [(r.workload, r.frames) for r in rows] == [('k', 3), ('k', 7), ('b', 3)]
    assert rows[1].faults == 7


def test_lru_never_rises_with_memory_fifo_may_on_the_belady_string():
    traces = dict(tiny_traces(), belady=BELADY * 3)
    sizes = list(range(1, 26))
    rows = bp.compare(traces, sizes, ['lru', 'fifo'])
    for w in traces:
        lru = [r.miss_ratio for r in rows if r.workload == w and r.policy == 'lru']
        assert all(a >= b for a, b in zip(lru, lru[1:])), w
    fifo = {r.frames: r.faults for r in bp.compare({'b': BELADY}, [3, 4], ['fifo'])}
    assert fifo == {3: 9, 4: 10}                 # Belady's anomaly: more memory, more faults
    lru = {r.frames: r.faults for r in bp.compare({'b': BELADY}, [3, 4], ['lru'])}
    assert lru == {3: 10, 4: 8}


def test_unknown_policy_is_refused():
    with pytest.raises(KeyError):
        bp.compare({'b': BELADY}, [3], ['no-such-policy'])


def test_table_has_a_row_per_case_and_the_summary_a_row_per_size():
    traces = tiny_traces()
    sizes = [3, 10, 20]
    policies = ['fifo', 'seq', 'lru']
    rows = bp.compare(traces, sizes, policies)
    lines = bp.table(rows).splitlines()
    body = lines[2:]
    assert len(body) == len(traces) * len(sizes) * len(policies)
    for r, line in zip(rows, body):
        cells = [c.strip() for c in line.strip('|').split('|')]
        assert cells[0] == r.workload and int(cells[1]) == r.frames and cells[3] == r.policy
        assert int(cells[4]) == r.faults and float(cells[6]) == pytest.approx(r.miss_ratio, abs=1e-4)
    summary = bp.summary(rows)
    for w in traces:
        assert f'**{w}**' in summary
    assert sum(1 for line in summary.splitlines() if line.startswith('| 10 |')) == len(traces)
    md = bp.markdown(rows, source='test traces')
    assert md.startswith('## Replacement policies: test traces')
    assert bp.table(rows) in md


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip('matplotlib')
    rows = bp.compare(tiny_traces(), [3, 10, 20], ['fifo', 'lru'])
    out = tmp_path / 'p.png'
    assert bp.plot(rows, out)
    assert out.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_plot_is_skipped_without_matplotlib(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'matplotlib', None)     # import matplotlib -> ImportError
    rows = bp.compare({'b': BELADY}, [3], ['lru'])
    out = tmp_path / 'p.png'
    assert bp.plot(rows, out) is False
    assert not out.exists()


def test_command_line_on_a_recorded_trace_file(tmp_path, capsys):
    trace = tmp_path / 'keys.txt'
    trace.write_text('# page keys\n' + '\n'.join(str(k) for k in BELADY * 4) + '\n')
    md, png = tmp_path / 'P.md', tmp_path / 'p.png'
    assert bp.main(['--trace', f'belady={trace}', '--policies', 'fifo,lru',
                    '--out', str(md), '--plot', str(png)]) == 0
    text = md.read_text()
    assert '| belady | 3 |' in text and '| lru |' in text
    assert 'wrote' in capsys.readouterr().out
