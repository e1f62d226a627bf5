"""The readable fault views: `--faults` one line per fault and its summary (golden files),
region and symbol naming, the PID filter and -o, `ukern trace summary` keyed by
(process, rip), the Chrome trace's ATA command names, fault kinds and memory counters,
and `ukern trace plot`.

The golden files in tests/golden/ are the exact output for userland/tests/fault_kinds.c
(virtual time makes it repeatable).  After a deliberate change to the views or to the
program, rewrite them with  UKERN_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_faults_brief.py
"""

import argparse
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import boot, ROOT
from kernel.cmdline import Parser
from kernel.mm.frames import PAGE_SIZE
from kernel.mm.vm import Region, Kind, Prot, FileImage, MappedFile, STACK_TOP
from kernel.trace.chrome import ChromeTrace, COUNTER_PERIOD_NS
from kernel.trace.faultbrief import FaultLog
from kernel.trace.faultopts import attach_faults
from kernel.trace.options import add_trace_options, trace_main
from kernel.trace.summary import counts, load, summarize
from kernel.trace.where import Namer, read_program_names

GOLDEN = Path(__file__).resolve().parent / 'golden'
PROGRAM = 'tests/fault_kinds'


def traced_run(userland, name, *listeners, args=(), procs=1, **boot_args):
    kernel, out, log = boot(**boot_args)
    made = [make(kernel) for make in listeners]
    for m in made:
        kernel.trace.subscribe(m)
    path = userland / name
    for _ in range(procs):
        kernel.spawn(path.read_bytes(), [path.name.encode()] + [a.encode() for a in args], [])
    kernel.run()
    return kernel, bytes(out), log, made


def fault_log(userland, mode='brief', pids=frozenset()):
    stream = io.StringIO()
    kernel, out, log, (flog,) = traced_run(userland, PROGRAM, lambda k: FaultLog(k, stream, mode, pids))
    assert b'(fault_kinds) end' in out, out.decode()
    flog.close()
    return stream.getvalue()


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get('UKERN_UPDATE_GOLDEN'):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert text == path.read_text(), f'differs from {path} (UKERN_UPDATE_GOLDEN=1 rewrites it)'


def test_brief_view_and_summary_match_the_golden_files(userland):
    text = fault_log(userland)
    lines, summary = text.split('\npage faults: ')
    golden('fault_kinds.brief', lines + '\n')
    golden('fault_kinds.summary', 'page faults: ' + summary)


def test_brief_lines_name_each_kind_with_its_region_and_function(userland):
    lines = fault_log(userland).split('\npage faults: ')[0].splitlines()
    fields = re.compile(r'\s*(\d+\.\d{6}) (\S+)\s+(maj|min) (\S+)\s+(0x[0-9a-f]+) (\S+)\s+'
                        r'(rip (0x[0-9a-f]+)(?: (\S+))?|in a system call) => (.*)')
    parsed = []
    for line in lines:
        m = fields.fullmatch(line)
        assert m, line
        parsed.append(m.groups())
    times = [float(p[0]) for p in parsed]
    assert times == sorted(times)

    def seen(who, kind, region, symbol_prefix, did):
        return any(p[1] == who and p[3] == kind and re.fullmatch(region, p[5])
                   and (p[8] or '').startswith(symbol_prefix) and p[9].startswith(did) for p in parsed)
    assert seen('fault_kinds/1', 'file-page', r'\.text', '', 'file read')        # the program's code
    assert seen('fault_kinds/1', 'demand-zero', r'\[heap\]', 'touch_heap+0x', 'zero-fill')
    assert seen('fault_kinds/1', 'demand-zero', r'\.bss', 'touch_bss+0x', 'zero-fill')
    assert seen('fault_kinds/1', 'demand-zero', r'//anon', 'touch_anon+0x', 'zero-fill')
    assert seen('fault_kinds/1', 'file-page', r'data\.txt@0x2000', 'read_file_page+0x', 'file read')
    assert seen('fault_kinds/1', 'stack-growth', r'\[stack\]', 'grow_stack', 'stack growth')
    assert seen('fault_kinds/2', 'cow-break', r'\.data', 'main+0x', 'copy-on-write')
    assert seen('fault_kinds/3', 'protection', r'//anon', 'write_read_only+0x',
                'kill (write to read-only 0x')
    # a kernel copy of user memory (the read of write()'s buffer) has no rip
    assert all(p[6] == 'in a system call' or p[7] for p in parsed)


def test_stack_growth_is_its_own_action(userland):
    seen = []
    traced_run(userland, PROGRAM, lambda k: seen.append)
    actions = {e.args['action'] for e in seen if e.kind == 'fault'}
    assert 'stack growth' in actions and 'zero-fill' in actions


def test_summary_counts_kinds_regions_processes_and_sites(userland):
    summary = fault_log(userland, mode='summary')
    assert summary.startswith('\npage faults: ')           # no per-fault lines in this mode
    total = int(re.match(r'\npage faults: (\d+) \((\d+) major', summary).group(1))
    sections = dict(re.findall(r'\n(by kind|by region|by process):\n((?:\s+\d+  .*\n)+)', summary))
    for title in ('by kind', 'by region', 'by process'):
        assert sum(int(n) for n in re.findall(r'^\s+(\d+)  ', sections[title], re.M)) == total
    assert re.search(r'^\s+\d+  pid 2 \(fault_kinds\)$', sections['by process'], re.M)
    assert re.search(r'^\s+\d+  data\.txt$', sections['by region'], re.M)     # offsets dropped
    sites = summary.split('hottest sites (process, rip, symbol):\n')[1].splitlines()
    assert 1 <= len(sites) <= 10
    assert all(re.match(r'\s+\d+  pid \d+ \(fault_kinds\)  (0x[0-9a-f]+ \S+  \S|\(in a system call)', s)
               for s in sites), sites


def test_pid_filter_shows_one_process(userland):
    text = fault_log(userland, pids=frozenset({2}))
    lines = text.split('\npage faults: ')[0].splitlines()
    assert lines and all(' fault_kinds/2 ' in line for line in lines)
    assert re.search(r'by process:\n\s+\d+  pid 2 \(fault_kinds\)\n\n', text)


def test_regions_are_named_as_maps_and_perf_name_them(userland):
    data = (userland / PROGRAM).read_bytes()
    names = read_program_names(data)
    text_start = next(s for s in names.sections if s[2] == '.text')
    main = next(s for s in names.symbols if s[2] == 'main')
    assert names.symbol_at(main[0]) == 'main' and names.symbol_at(main[0] + 0x1c) == 'main+0x1c'
    assert names.section_at(text_start[0] + 8) == '.text'
    namer = Namer(None)
    elf = Region(0x1000000, 0x1000000 + 16 * PAGE_SIZE, Prot.READ, Kind.ELF, 'fault_kinds',
                 FileImage(data, 0, len(data)))
    assert namer.label(elf, text_start[0]) == '.text'
    assert namer.label(elf, 0x1000010) == 'fault_kinds@0x0'      # the ELF header: no section
    heap = Region(0x2000000, 0x2004000, Prot.READ | Prot.WRITE, Kind.HEAP, '[heap]')
    stack = Region(STACK_TOP - 0x20000, STACK_TOP, Prot.READ | Prot.WRITE, Kind.STACK, '[stack]')
    anon = Region(0x7f0000000000, 0x7f0000004000, Prot.READ, Kind.ANON, '[anon]')
    shm = Region(0x7f0000010000, 0x7f0000014000, Prot.READ, Kind.ANON, '[sysv shm 3]')
    mapped = Region(0x7f0000020000, 0x7f0000028000, Prot.READ, Kind.FILE, '/tmp/file.txt',
                    file=MappedFile(None, [1] * 8, first=1))
    copied = Region(0x7f0000030000, 0x7f0000032000, Prot.READ, Kind.ANON, '/home/u/notes.txt',
                    image=FileImage(b'x' * 8192, 0, 8192, base=3 * PAGE_SIZE))
    assert namer.label(heap, 0x2001234) == '[heap]'
    assert namer.label(stack, STACK_TOP - 8) == '[stack]'
    assert namer.label(anon, 0x7f0000001000) == '//anon'
    assert namer.label(shm, 0x7f0000010000) == '[sysv shm 3]'
    assert namer.label(mapped, 0x7f0000021008) == 'file.txt@0x2000'     # page 1 of the region
    assert namer.label(copied, 0x7f0000031fff) == 'notes.txt@0x4000'
    # a region split in two keeps naming the same file offsets
    upper = copied.split_at(0x7f0000031000)
    assert namer.label(upper, 0x7f0000031000) == 'notes.txt@0x4000'
    upper = mapped.split_at(0x7f0000024000)
    assert namer.label(upper, 0x7f0000024000) == 'file.txt@0x5000'


def test_trace_summary_keys_sites_by_process_and_rip(userland, tmp_path):
    path = tmp_path / 'spin.json'
    kernel, out, log, (chrome,) = traced_run(userland, 'tests/spin', lambda k: ChromeTrace(k, path),
                                             args=('1000',), procs=2)
    chrome.close()
    c = counts(load(path))
    sites = c['faults'].by_site
    rips = {}
    for (process, rip), n in sites.items():
        rips.setdefault(rip, {})[process] = n
    # both processes run the same program: each of its faulting instructions is two sites
    shared = [r for r, per in rips.items() if r is not None and set(per) == {'pid 1 (spin)', 'pid 2 (spin)'}]
    assert shared
    assert sum(sites.values()) == c['by_kind']['fault']
    text = summarize(path)
    assert re.search(r'^\s+\d+  pid 2 \(spin\)  0x[0-9a-f]+', text, re.M)
    assert 'by region:' in text and 'by kind:' in text


def test_the_run_summary_and_the_trace_summary_agree(userland, tmp_path):
    path = tmp_path / 'run.json'
    stream = io.StringIO()
    kernel, out, log, (flog, chrome) = traced_run(userland, PROGRAM,
                                                  lambda k: FaultLog(k, stream, 'summary'),
                                                  lambda k: ChromeTrace(k, path))
    flog.close()
    chrome.close()
    from kernel.trace.faultstats import format_summary
    assert format_summary(counts(load(path))['faults']) == stream.getvalue()


def test_chrome_trace_names_ata_commands_and_draws_memory_counters(disk, tmp_path):
    path = tmp_path / 'disk.json'
    kernel, out, log = boot(disk=disk, mem=32 << 20)
    chrome = ChromeTrace(kernel, path)
    kernel.trace.subscribe(chrome)
    p = kernel.spawn(kernel.read_guest_file(b'/tests/fileio'), [b'fileio', b'/big', b'2'], [])
    kernel.run()
    kernel.shutdown()
    chrome.close()
    assert p.exit_status == 0, bytes(out).decode()
    evs = json.loads(path.read_text())['traceEvents']
    dma = {e['name'] for e in evs if e.get('cat') == 'dma'}
    assert {'READ DMA EXT', 'WRITE DMA EXT', 'FLUSH CACHE EXT'} <= dma, dma
    assert not any(n.startswith(('command ', 'read lba', 'write lba')) for n in dma)
    faults = [e for e in evs if e.get('cat') == 'fault']
    assert faults and all(e['args']['kind'] and e['args']['region'] for e in faults)
    assert all(e['name'] == f'page fault: {e["args"]["kind"]}' for e in faults)
    counters = [e for e in evs if e['ph'] == 'C']
    assert {e['name'] for e in counters} == {'free frames', 'page cache', 'swap used'}
    for name in ('free frames', 'page cache'):
        series = [e for e in counters if e['name'] == name]
        times = [e['ts'] for e in series]
        assert times == sorted(times) and len(series) >= 2
        assert all(isinstance(e['args']['pages'], int) for e in series)
        # at most one sample per period of virtual time (and the one at the end)
        assert all(b - a >= COUNTER_PERIOD_NS / 1000 for a, b in zip(times[:-2], times[1:-1]))
    cache = [e['args']['pages'] for e in counters if e['name'] == 'page cache']
    assert max(cache) > 0                        # the file went through the page cache
    assert len(counters) < 3 * (kernel.clock.now // COUNTER_PERIOD_NS + 2)


def test_counters_follow_swap_and_are_the_same_each_run(userland, tmp_path):
    def one_run(n):
        path = tmp_path / f'swap{n}.json'
        kernel, out, log = boot(mem=16 << 20, swap=tmp_path / f'swap{n}.img')
        chrome = ChromeTrace(kernel, path)
        kernel.trace.subscribe(chrome)
        exe = userland / 'tests/memhog'
        kernel.spawn(exe.read_bytes(), [b'memhog', b'20'], [])
        kernel.run()
        chrome.close()
        assert b'(memhog) end' in out
        return [e for e in json.loads(path.read_text())['traceEvents'] if e['ph'] == 'C']
    first = one_run(1)
    swap = [e['args']['pages'] for e in first if e['name'] == 'swap used']
    assert max(swap) > 0 and swap[-1] == 0            # swap filled, then every slot came back
    assert one_run(2) == first


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, '-m', 'kernel', *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=600)


def test_cli_faults_pid_filter_and_output_file(userland, tmp_path):
    out = tmp_path / 'faults.txt'
    r = cli('run', '-o', str(out), '--faults=2', str(userland / PROGRAM))
    assert r.returncode == 0, r.stderr
    assert 'page faults' not in r.stderr and 'fault_kinds/' not in r.stderr
    text = out.read_text()
    lines = text.split('\npage faults: ')[0].splitlines()
    assert lines and all(' fault_kinds/2 ' in line for line in lines)
    assert 'cow-break' in text and 'hottest sites' in text
    r = cli('run', '-o', str(tmp_path / 'no/such/dir/x'), '--faults', str(userland / PROGRAM))
    assert r.returncode == 1 and r.stderr.count('\n') == 1 and 'No such file or directory' in r.stderr


def test_bare_faults_option_does_not_take_the_program(userland):
    parser = Parser()                     # the parser class `ukern` itself uses
    add_trace_options(parser)
    parser.add_argument('program')
    parser.add_argument('args', nargs=argparse.REMAINDER)
    cases = {
        ('--faults', 'prog'): (('brief', frozenset()), 'prog', []),
        ('--faults', 'walk', 'prog'): (('walk', frozenset()), 'prog', []),
        ('--faults', '-1', 'prog'): (('brief', frozenset()), 'prog', []),
        ('--faults=walk,3', 'prog', 'x'): (('walk', frozenset({3})), 'prog', ['x']),
        ('--faults=2', 'prog'): (('brief', frozenset({2})), 'prog', []),
        ('prog', '--faults', 'walk'): (None, 'prog', ['--faults', 'walk']),       # the guest's
        ('--faults', 'prog', 'a', '--faults', '2'): (('brief', frozenset()), 'prog', ['a', '--faults', '2']),
    }
    for argv, (faults, program, rest) in cases.items():
        a = parser.parse_args(list(argv))
        assert (a.faults, a.program, a.args) == (faults, program, rest), argv
    a = argparse.Namespace(faults='brief', plot=None)     # a bare --faults left to argparse: const
    kernel, out, log = boot()
    assert attach_faults(kernel, a, io.StringIO()) is not None and kernel.trace.enabled
    r = cli('run', '--faults=sideways', 'prog')
    assert r.returncode == 2 and "'sideways': expected brief, walk, summary or a process id" in r.stderr


def test_trace_plot(userland, tmp_path, capsys):
    pytest.importorskip('matplotlib')
    path = tmp_path / 'run.json'
    kernel, out, log, (chrome,) = traced_run(userland, PROGRAM, lambda k: ChromeTrace(k, path))
    chrome.close()
    png = tmp_path / 'faults.png'
    assert trace_main(['plot', str(path), '-o', str(png)]) == 0
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert re.fullmatch(r'.*faults\.png: \d+ page faults\n', capsys.readouterr().out)


def test_run_plot_draws_the_runs_faults(userland, tmp_path):
    pytest.importorskip('matplotlib')
    png = tmp_path / 'run.png'
    stream = io.StringIO()
    kernel, out, log, (flog,) = traced_run(userland, 'tests/brk',
                                           lambda k: FaultLog(k, stream, 'none', plot=str(png)))
    flog.close()
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert stream.getvalue() == ''                  # --plot alone prints nothing


def test_trace_plot_without_matplotlib_says_how_to_get_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, 'matplotlib', None)        # import matplotlib -> ImportError
    path = tmp_path / 'empty.json'
    path.write_text('{"traceEvents": []}')
    assert trace_main(['plot', str(path), '-o', str(tmp_path / 'x.png')]) == 1
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'pip install matplotlib' in err and 'make bench' in err
    assert not (tmp_path / 'x.png').exists()


def test_trace_summary_reads_older_traces_and_refuses_other_json(tmp_path, capsys):
    """A trace written before faults carried kind and region is tallied by its actions."""
    old = {'traceEvents': [
        {'name': 'thread_name', 'ph': 'M', 'pid': 1, 'tid': 1, 'args': {'name': 'pid 1 (old)'}},
        {'name': 'page fault: zero-fill', 'cat': 'fault', 'ph': 'i', 's': 't', 'ts': 1.0, 'pid': 1,
         'tid': 1, 'args': {'addr': '0x1000', 'rip': '0x401000', 'action': 'zero-fill',
                            'instruction': 'mov byte ptr [rax], 1'}},
        {'name': 'page fault: file read', 'cat': 'fault', 'ph': 'i', 's': 't', 'ts': 2.0, 'pid': 1,
         'tid': 1, 'args': {'addr': '0x2000', 'rip': None, 'action': 'file read'}}]}
    path = tmp_path / 'old.json'
    path.write_text(json.dumps(old))
    c = counts(load(path))
    assert dict(c['faults'].by_kind) == {'demand-zero': 1, 'file-page': 1}
    assert c['faults'].by_site == {('pid 1 (old)', 0x401000): 1, ('pid 1 (old)', None): 1}
    assert '1  pid 1 (old)  0x401000  mov byte ptr [rax], 1' in summarize(path)
    bad = tmp_path / 'bad.json'
    bad.write_text('42')
    assert trace_main(['summary', str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'not a Chrome trace' in err


def test_proc_maps_shows_a_file_mapping_by_its_path():
    """File regions are named by the path they were mapped by; /proc/PID/maps shows it,
    with the inode number when the file system has one (it raised AttributeError)."""
    from types import SimpleNamespace
    from kernel.fs.procinfo import _map_line
    ext2 = Region(0x7f0000000000, 0x7f0000002000, Prot.READ, Kind.FILE, '/data/file.txt',
                  file=MappedFile(None, [5, 6], holder=SimpleNamespace(ino=12), first=3))
    line = _map_line(ext2)
    assert line.split()[:5] == ['7f0000000000-7f0000002000', 'r--p', '00003000', '08:01', '12']
    assert line.rstrip('\n').endswith(' /data/file.txt')
    tmp = Region(0x7f0000010000, 0x7f0000011000, Prot.READ, Kind.FILE, '/tmp/t',
                 file=MappedFile(None, [1]))
    assert _map_line(tmp).split()[4:] == ['0', '/tmp/t']
