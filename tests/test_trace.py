"""Tracing: the event stream, --strace, --faults, the Chrome/Perfetto trace and its summary."""

import argparse
import io
import json
import re
from numbers import Number


from conftest import boot
from kernel.trace import events
from kernel.trace.chrome import ChromeTrace
from kernel.trace.faultview import FaultView
from kernel.trace.options import add_trace_options, attach, trace_main
from kernel.trace.strace import Strace, decode_args, format_result
from kernel.trace.summary import counts, summarize


def traced(userland, name, *listeners_for, args=(), procs=1, fault_around=True):
    """Run a guest with listeners made by `listeners_for(kernel)`; returns (kernel, events, out)."""
    kernel, out, log = boot()
    kernel.fault_around = fault_around
    seen = []
    kernel.trace.subscribe(seen.append)
    made = [make(kernel) for make in listeners_for]
    for m in made:
        kernel.trace.subscribe(m)
    path = userland / name
    for _ in range(procs):
        kernel.spawn(path.read_bytes(), [str(path).encode()] + [a.encode() for a in args], [])
    kernel.run()
    return kernel, seen, bytes(out), made


def test_trace_of_brk_has_the_expected_syscalls_and_faults_in_order(userland):
    kernel, seen, out, _ = traced(userland, 'tests/brk')
    assert b'(brk) end' in out
    brks = [e for e in seen if e.kind == 'syscall' and e.args['name'] == 'brk']
    start = brks[0].args['result']
    assert [(e.args['args'][0], e.args['result']) for e in brks[:3]] == [
        (0, start), (start + (1 << 20), start + (1 << 20)), (start, start)]
    # the first touch of the new heap's last byte is a zero-fill fault between the grow and the shrink
    grow, shrink = seen.index(brks[1]), seen.index(brks[2])
    heap_faults = [e for e in seen[grow:shrink] if e.kind == 'fault']
    assert [(e.args['addr'], e.args['action']) for e in heap_faults] == [(start + (1 << 20) - 1, 'zero-fill')]
    fault = heap_faults[0]
    assert fault.args['rip'] is not None and not fault.args['from_kernel']
    assert fault.args['before'].leaf == 0 and fault.args['after'].leaf & 1
    # program text is loaded lazily before the first system call; the process ends last
    first_syscall = next(i for i, e in enumerate(seen) if e.kind == 'syscall')
    assert any(e.kind == 'fault' and e.args['action'] == 'file read' for e in seen[:first_syscall])
    assert [e.kind for e in seen[-2:]] == ['exit', 'syscall'] and seen[-2].args['status'] == 0
    assert all(a.time <= b.time for a, b in zip(seen, seen[1:]))


def check_trace_event(e):
    """The Chrome trace event format's required keys per phase, with the right types."""
    assert isinstance(e['name'], str) and isinstance(e['ph'], str)
    assert isinstance(e['pid'], int) and isinstance(e['tid'], int)
    if e['ph'] == 'M':
        assert e['name'] in ('process_name', 'thread_name', 'thread_sort_index')
        assert isinstance(e['args'], dict)
        return
    assert e['ph'] in ('X', 'i', 'C')
    assert isinstance(e['ts'], Number) and not isinstance(e['ts'], bool) and e['ts'] >= 0
    if e['ph'] == 'X':
        assert isinstance(e['dur'], Number) and e['dur'] >= 0
    if e['ph'] == 'i':
        assert e['s'] in ('t', 'p', 'g')
    if e['ph'] == 'C':                 # a counter: each arg is a series of numbers
        assert e['args'] and all(isinstance(v, Number) for v in e['args'].values())
    assert isinstance(e.get('args', {}), dict)
    assert isinstance(e.get('cat', ''), str)


def test_chrome_trace_is_valid_trace_event_json(userland, tmp_path):
    path = tmp_path / 'run.json'
    # without fault-around every page faults, so the touch loop's count below is known
    kernel, seen, out, (chrome,) = traced(userland, 'tests/mmap_anon', lambda k: ChromeTrace(k, path),
                                          fault_around=False)
    n = len(seen)
    # a kind the writer does not know (later issues add 'dma', 'evict' ...) is kept as an instant
    kernel.trace.emit('evict', kernel.clock.now, 0, 1, addr=0x1000, big=1 << 63, walk=None)
    kernel.trace.emit('dma', 100, 0, 0, phase='issue', disk=0, slot=3, lba=8, sectors=2, write=False,
                      command=None, frames=['0x5000'], requests=1)
    kernel.trace.emit('dma', 2600, 0, 0, phase='complete', disk=0, slot=3, lba=8, sectors=2, write=False,
                      command=None, frames=['0x5000'], requests=1, status=0)
    chrome.close()
    doc = json.loads(path.read_text())
    assert doc['displayTimeUnit'] == 'ns'
    evs = doc['traceEvents']
    for e in evs:
        check_trace_event(e)
    names = {e['tid']: e['args']['name'] for e in evs if e['name'] == 'thread_name'}
    assert names[1] == 'pid 1 (mmap_anon)' and 'disk' in names.values()
    body = [e for e in evs if e['ph'] not in ('M', 'C')]
    assert len(body) == n + 2          # evict, and one slice for the dma issue and completion
    mmap = next(e for e in body if e['name'] == 'mmap')
    assert mmap['ph'] == 'X' and mmap['args']['call'].startswith('mmap(NULL, 262144, PROT_READ|PROT_WRITE')
    fault = next(e for e in body if e['cat'] == 'fault' and e['args']['rip'])
    assert fault['ph'] == 'i' and fault['args']['addr'].startswith('0x') and fault['args']['instruction']
    assert any(line.startswith('PTE') for line in fault['args']['walk'])
    evict = next(e for e in body if e['cat'] == 'evict')
    assert evict['ph'] == 'i' and evict['args']['big'] == hex(1 << 63)
    dma = next(e for e in body if e['cat'] == 'dma')
    assert dma['ph'] == 'X' and dma['tid'] == next(t for t, n in names.items() if n == 'disk')
    assert dma['ts'] == 0.1 and dma['dur'] == 2.5 and dma['args']['lba'] == 8
    assert dma['name'] == 'READ DMA EXT'          # the ATA command the read was issued as


def test_summary_counts_match_the_trace(userland, tmp_path, capsys):
    path = tmp_path / 'run.json'
    # without fault-around every page faults, so the touch loop's count below is known
    kernel, seen, out, (chrome,) = traced(userland, 'tests/mmap_anon', lambda k: ChromeTrace(k, path),
                                          fault_around=False)
    chrome.close()
    c = counts(json.loads(path.read_text()))
    kinds = {}
    for e in seen:
        kinds[e.kind] = kinds.get(e.kind, 0) + 1
    assert c['by_kind'] == kinds
    assert c['by_track'] == {'pid 1 (mmap_anon)': len(seen)}
    syscalls = [e for e in seen if e.kind == 'syscall']
    assert sum(c['syscall_count'].values()) == len(syscalls)
    assert c['syscall_count']['writev'] == sum(e.args['name'] == 'writev' for e in syscalls)
    assert sum(c['faulting'].values()) == kinds['fault']
    text = summarize(path)
    assert f'{kinds["fault"]:8d}  fault' in text
    # the loop touching 64 pages faults 16 times at each of its four stores
    top = text.split('hottest sites (process, rip, symbol):\n')[1].splitlines()[0]
    assert re.match(r'\s+16  pid 1 \(mmap_anon\)  0x[0-9a-f]+  mov byte ptr', top), top
    assert trace_main(['summary', str(path)]) == 0
    assert 'system calls by virtual time' in capsys.readouterr().out


def test_strace_lines_look_like_strace(userland):
    s = io.StringIO()
    traced(userland, 'tests/mmap_anon', lambda k: Strace(k, s))
    lines = s.getvalue().splitlines()
    assert re.search(r'^mmap\(NULL, 262144, PROT_READ\|PROT_WRITE, MAP_PRIVATE\|MAP_ANONYMOUS, -1, 0\) '
                     r'= 0x[0-9a-f]+$', s.getvalue(), re.M)
    assert 'arch_prctl(ARCH_SET_FS, 0x' in lines[0]
    assert 'writev(1, [{iov_base="(mmap_anon) ", iov_len=12}, {iov_base=NULL, iov_len=0}], 2) = 12' in lines
    assert any(re.fullmatch(r'mprotect\(0x[0-9a-f]+, 4096, PROT_READ\) = 0', line) for line in lines)
    assert lines[-2:] == ['exit_group(0) = ?', '+++ exited with 0 +++']

    s = io.StringIO()
    traced(userland, 'tests/brk', lambda k: Strace(k, s))
    assert re.search(r'^brk\(NULL\) = 0x[0-9a-f]+$', s.getvalue(), re.M)

    s = io.StringIO()
    traced(userland, 'tests/nosys', lambda k: Strace(k, s))
    assert re.search(r'^io_setup\(0x1, 0x0(, 0x[0-9a-f]+)*\) = -1 ENOSYS \(Function not implemented\)$',
                     s.getvalue(), re.M)


def test_strace_decodes_write_strings_and_errors_and_never_raises(userland):
    kernel2, _, _ = boot()
    path = userland / 'bin/hello'
    p = kernel2.spawn(path.read_bytes(), [b'hello'], [])
    user = kernel2.user(p)
    rsp = p.regs[7]
    user.write(rsp - 64, b'hello\n' + b'x' * 40 + b'\0')
    assert decode_args(kernel2, p.pid, 'write', [1, rsp - 64, 6], 6) == ['1', '"hello\\n"', '6']
    assert decode_args(kernel2, p.pid, 'write', [1, rsp - 64, 46], 46)[1] == '"hello\\n' + 'x' * 26 + '"...'
    assert decode_args(kernel2, p.pid, 'openat', [(1 << 64) - 100, rsp - 58, 0o102, 0o644], 3) == [
        'AT_FDCWD', '"' + 'x' * 40 + '"', 'O_RDWR|O_CREAT', '0644']     # strace shows paths whole
    # a bad pointer, or memory that is not present, is shown as the pointer
    assert decode_args(kernel2, p.pid, 'write', [1, 0xdead0000, 6], -14) == ['1', '0xdead0000', '6']
    assert decode_args(kernel2, p.pid, 'open', [1 << 63, 0], -14) == [hex(1 << 63), 'O_RDONLY']
    assert decode_args(kernel2, 99, 'write', [1, rsp - 64, 6], 6)[1] == hex(rsp - 64)
    assert format_result('open', -2) == '-1 ENOENT (No such file or directory)'
    assert format_result('mmap', 0x7effff000) == '0x7effff000'


def test_strace_prefixes_pid_when_several_processes_exist(userland):
    s = io.StringIO()
    traced(userland, 'tests/spin', lambda k: Strace(k, s), args=('1000',), procs=2)
    text = s.getvalue()
    assert '[pid 1] ' in text and '[pid 2] ' in text
    assert re.search(r'^\[pid 2\] writev\(1, \[\{iov_base="spin 2", iov_len=6\}, '
                     r'\{iov_base=" done\\n", iov_len=6\}\], 2\) = 12$', text, re.M)


def test_fault_view_shows_the_walk_and_the_instruction(userland):
    s = io.StringIO()
    traced(userland, 'tests/mmap_anon', lambda k: FaultView(k, s))
    blocks = s.getvalue().split('[pid 1] page fault at ')[1:]
    heap = [b for b in blocks if b.startswith('0x7efffffc0000:')]
    assert heap, s.getvalue()[:2000]
    lines = heap[0].splitlines()
    assert lines[0] == '0x7efffffc0000: write, not present (user)'
    assert re.fullmatch(r'\s+rip 0x[0-9a-f]+: mov byte ptr \[r14 \+ rcx \+ 0x1000\], dl', lines[1])
    assert [l.split()[0] for l in lines[2:6]] == ['PML4E[253]', 'PDPTE[511]', 'PDE', 'PTE']
    assert re.fullmatch(r'\s+PTE  \[448\] not present -> 0x8[0-9a-f]+ P\|W\|U\|NX', lines[5])
    assert lines[6].strip() == 'action: zero-fill'


def test_fault_view_shows_kernel_copies_that_end_in_efault(userland):
    s = io.StringIO()
    traced(userland, 'tests/badptr', lambda k: FaultView(k, s))
    blocks = s.getvalue().split('[pid 1] page fault at ')[1:]
    copy = next(b for b in blocks if b.startswith('0x10:'))
    assert copy.splitlines()[0] == '0x10: read, not present (kernel copy of user memory)'
    assert 'action: the system call fails with EFAULT (read of unmapped 0x0000000000000010)' in copy


def test_options_attach_the_chosen_listeners(userland, tmp_path):
    parser = argparse.ArgumentParser()
    add_trace_options(parser)
    args = parser.parse_args(['--strace', '--faults', '--trace', str(tmp_path / 't.json')])
    assert args.gdb is None
    kernel, out, log = boot()
    err = io.StringIO()
    close = attach(kernel, args, stream=err)
    path = userland / 'bin/hello'
    kernel.spawn(path.read_bytes(), [b'hello'], [])
    kernel.run()
    close()
    assert re.search(r'^\s+\d+\.\d{6} hello/1 +min file-page +0x[0-9a-f]+ \.text ', err.getvalue(), re.M)
    assert '\npage faults: ' in err.getvalue() and 'exit_group(0) = ?' in err.getvalue()
    assert json.loads((tmp_path / 't.json').read_text())['traceEvents']


def test_tracing_off_creates_no_events(userland, monkeypatch):
    made = []
    original = events.Event.__init__

    def counting(self, *a, **kw):
        made.append(a)
        original(self, *a, **kw)
    monkeypatch.setattr(events.Event, '__init__', counting)
    kernel, out, log = boot()
    path = userland / 'tests/mmap_anon'
    kernel.spawn(path.read_bytes(), [b'mmap_anon'], [])
    kernel.run()
    assert b'(mmap_anon) end' in out
    assert not kernel.trace.enabled and made == []
    # and the same run with a listener does create them (the counter works)
    kernel, out, log = boot()
    kernel.trace.subscribe(lambda e: None)
    kernel.spawn(path.read_bytes(), [b'mmap_anon'], [])
    kernel.run()
    assert len(made) > 50
