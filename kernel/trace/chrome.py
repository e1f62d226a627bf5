"""`--trace FILE.json`: the run as a timeline for Perfetto (ui.perfetto.dev) or chrome://tracing.

The file is the Chrome trace event format, JSON object form:
  {"traceEvents": [...], "displayTimeUnit": "ns", "otherData": {...}}
Each guest process is a trace process (a group of tracks, pid = its pid, named "pid N
(name)") with a track per thread (tid = the thread's tid: "pid N (name)" for its first
thread, "pid N (name) thread T" for the others); the machine is trace process 0 ("ukern"),
where the kernel itself is tid 0 and each disk has its own track.  System calls are complete events ('X', ts and dur in microseconds of virtual time),
faults, switches, exits and kills are instant events ('i'), and 'dma' events become slices
on the disk track, named by the ATA command ('READ DMA EXT', 'FLUSH CACHE EXT').  A fault
carries its kind, region, process and symbol (faultbrief.py) besides the page-table walk.
Event kinds this file does not know become instants with their args, so later issues can
add kinds without touching it.  Each event's 'cat' is its kind.

Counters ('C'), on the machine's process, draw memory over time: free frames, the page
cache and the swap slots in use, in pages.  They are sampled when an event happens, at
most once per COUNTER_PERIOD_NS of virtual time and only when a value changed, and once
at the end: the same run gives the same samples.

Events are decoded when they happen (string arguments are read from the process's memory
then) and the file is written by close().
"""

import enum
import json

from emu.ahci_regs import AtaCommand
from .faultbrief import fault_record
from .faultview import fault_details
from .strace import decode_args, format_result, SIGNALS
from .where import Namer

TRACE_PID = 0              # the machine's Chrome "process": the kernel and the disks
KERNEL_TID = 0
DISK_TID = 1_000_000       # a track of its own, sorted after the kernel
MAX_SAFE_INT = (1 << 53) - 1
COUNTER_PERIOD_NS = 100_000   # memory counters: at most one sample per 0.1 ms of virtual time


def us(ns: int) -> float:
    """Chrome trace timestamps are microseconds; keep the nanoseconds as a fraction."""
    return ns / 1000


def ata_name(args: dict) -> str:
    """'READ DMA EXT', 'FLUSH CACHE EXT': the command a DMA event's slot was issued as."""
    code = args.get('ata', args.get('command'))
    if code is None:
        code = AtaCommand.WRITE_DMA_EXT if args.get('write') else AtaCommand.READ_DMA_EXT
    try:
        return AtaCommand(code).name.replace('_', ' ')
    except ValueError:
        return f'ATA command {code:#x}'


def disk_track_name(disk: int) -> str:
    """The kernel's disks by port; the object store's disk (kernel/obj/devcap.py), driven
    by the object server from ring 3, on a track of its own."""
    from ..obj.devcap import STORE_TRACK
    if disk == STORE_TRACK:
        return 'object store disk (objsrv, second controller)'
    return 'disk' if disk == 0 else f'disk {disk}'


def memory_counters(kernel) -> dict[str, int]:
    """Pages: free frames, blocks in the page (buffer) cache, swap slots in use."""
    cache = getattr(kernel.vfs, 'cache', None) if getattr(kernel, 'vfs', None) is not None else None
    swap = kernel.frames.swap
    return {'free frames': kernel.frames.free_count,
            'page cache': cache.stats()['cached'] if cache is not None else 0,
            'swap used': swap.nslots - 1 - swap.free_slots if swap is not None else 0}


def fault_args(r) -> dict:
    """What a fault event adds to its walk: the one-line view's fields (faultbrief.py)."""
    return {'kind': r.kind, 'region': r.region, 'major': r.major, 'process': r.process,
            'symbol': r.symbol}


def jsonable(value):
    """Event args as JSON: walks as lists of hex entries, enums as names, big ints as hex."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, float)):
        return value
    if isinstance(value, enum.Enum):
        return value.name if not isinstance(value, int) else int(value)
    if isinstance(value, int):
        return value if -MAX_SAFE_INT <= value <= MAX_SAFE_INT else hex(value)
    if isinstance(value, (bytes, bytearray)):
        return value[:64].hex()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    steps = getattr(value, 'steps', None)          # pagetable.Walk
    if steps is not None:
        return [hex(entry) for _table, entry in steps]
    return str(value)


class ChromeTrace:
    """A Tracer listener collecting trace events; close() writes the JSON file."""

    def __init__(self, kernel, path):
        self.kernel = kernel
        self.path = path
        self.events: list[dict] = []
        self.names: dict[int, str] = {}
        self.groups: dict[int, int] = {}     # tid -> its process's pid
        self.disk_used = False
        self.disks: set[int] = {0}
        self.inflight: dict[tuple, tuple[int, dict]] = {}   # (disk, slot) -> (issue time, args)
        self.closed = False
        self.namer = Namer(kernel)
        self.counters: list[dict] = []
        self.last_counts: dict[str, int] = {}
        self.next_sample = 0

    def _track(self, pid: int) -> int:
        if not pid:
            return KERNEL_TID
        p = self.kernel.procs.get(pid) if self.kernel is not None else None
        if p is not None:
            self.names[pid] = p.name          # the latest name wins (exec renames)
            self.groups[pid] = p.tgid
        else:
            self.names.setdefault(pid, '?')
        return pid

    def _group(self, tid: int) -> int:
        """The Chrome process of a track: the guest process of a thread, or the machine."""
        return self.groups.get(tid, tid) if tid and tid < DISK_TID else TRACE_PID

    def _at(self, task: int, tid: int | None = None) -> dict:
        tid = self._track(task) if tid is None else tid
        return {'pid': self._group(tid), 'tid': tid}

    def _instant(self, name: str, event, args: dict, tid: int | None = None) -> dict:
        return {'name': name, 'cat': event.kind, 'ph': 'i', 's': 't', 'ts': us(event.time),
                **self._at(event.pid, tid), 'args': args}

    def __call__(self, event) -> None:
        try:
            converted = self._convert(event)
            if converted is not None:
                self.events.append(converted)
            if event.time >= self.next_sample:
                self._sample(event.time)
        except Exception as e:          # never let the trace writer break the kernel
            self.events.append({'name': f'{event.kind} (undecodable)', 'cat': event.kind, 'ph': 'i',
                                's': 't', 'ts': us(event.time), 'pid': self._group(event.pid),
                                'tid': event.pid or KERNEL_TID, 'args': {'error': str(e)}})

    def _convert(self, event) -> dict:
        a = event.args
        kind = event.kind
        common = {'instructions': event.instructions}
        if kind == 'syscall':
            name, result = a.get('name', '?'), a.get('result', 0)
            dur = max(0, a.get('duration', 0))
            shown = decode_args(self.kernel, event.pid, name, a.get('args', []), result)
            return {'name': name, 'cat': kind, 'ph': 'X', 'ts': us(event.time - dur), 'dur': us(dur),
                    **self._at(event.pid),
                    'args': {'call': f'{name}({", ".join(shown)})', 'result': format_result(name, result),
                             'nr': a.get('nr'), **common}}
        if kind == 'fault':
            d = fault_details(self.kernel, event)
            r = fault_record(self.namer, event)
            return self._instant(f'page fault: {r.kind}', event, {**d, **fault_args(r), **common})
        if kind == 'switch':
            return self._instant('switch', event, {'prev': a.get('prev', 0), **common})
        if kind == 'exit':
            status = a.get('status', 0)
            return self._instant('exit', event, {'status': status, 'code': (status >> 8) & 0xFF,
                                                 'signal': status & 0x7F, **common})
        if kind == 'kill':
            sig = a.get('signal', 0)
            return self._instant(f'killed by {SIGNALS.get(sig, sig)}', event,
                                 {'signal': sig, 'report': a.get('report', ''), **common})
        if kind == 'dma' and a.get('phase') in ('issue', 'complete'):
            return self._dma_phase(event)
        if kind == 'dma' and 'issue' in a and 'complete' in a:
            self.disk_used = True
            issue, complete = a['issue'], a['complete']
            return {'name': str(a.get('op', a.get('name', 'dma'))), 'cat': kind, 'ph': 'X',
                    'ts': us(issue), 'dur': us(max(0, complete - issue)), 'pid': TRACE_PID,
                    'tid': DISK_TID, 'args': {**jsonable(a), 'pid': event.pid, **common}}
        if kind in ('dma', 'irq'):
            self.disk_used = True
            return self._instant(kind, event, {**jsonable(a), 'pid': event.pid, **common}, DISK_TID)
        return self._instant(kind, event, {**jsonable(a), **common})

    def _dma_phase(self, event) -> dict | None:
        """kernel/dev/ahci.py emits 'dma' at issue and at completion of a command: one slice."""
        a = event.args
        disk = a.get('disk', 0) or 0
        self.disks.add(disk)
        key = (disk, a.get('slot'))
        if a['phase'] == 'issue':
            self.inflight[key] = (event.time, jsonable(a))
            return None
        start, issued = self.inflight.pop(key, (event.time, {}))
        name = ata_name(a)
        return {'name': name, 'cat': 'dma', 'ph': 'X', 'ts': us(start), 'dur': us(max(0, event.time - start)),
                'pid': TRACE_PID, 'tid': DISK_TID + disk,
                'args': {**issued, **jsonable(a), 'issued_at_ns': start, 'instructions': event.instructions}}

    def _sample(self, time: int) -> None:
        """Counter events for the memory counters that changed since the last sample."""
        if self.kernel is None:
            return
        time = max(time, self.next_sample - COUNTER_PERIOD_NS)    # never before the last sample
        self.next_sample = time + COUNTER_PERIOD_NS
        for name, value in memory_counters(self.kernel).items():
            if self.last_counts.get(name) != value:
                self.last_counts[name] = value
                self.counters.append({'name': name, 'ph': 'C', 'ts': us(time), 'pid': TRACE_PID,
                                      'tid': KERNEL_TID, 'cat': 'memory', 'args': {'pages': value}})

    def metadata(self) -> list[dict]:
        meta = [{'name': 'process_name', 'ph': 'M', 'pid': TRACE_PID, 'tid': KERNEL_TID, 'ts': 0,
                 'args': {'name': 'ukern'}},
                {'name': 'thread_name', 'ph': 'M', 'pid': TRACE_PID, 'tid': KERNEL_TID, 'ts': 0,
                 'args': {'name': 'kernel'}},
                ]
        for disk in sorted(self.disks):
            meta.append({'name': 'thread_name', 'ph': 'M', 'pid': TRACE_PID, 'tid': DISK_TID + disk, 'ts': 0,
                         'args': {'name': disk_track_name(disk)}})
            meta.append({'name': 'thread_sort_index', 'ph': 'M', 'pid': TRACE_PID, 'tid': DISK_TID + disk,
                         'ts': 0, 'args': {'sort_index': DISK_TID + disk}})
        for pid, name in sorted(self.names.items()):
            tgid = self.groups.get(pid, pid)
            label = f'pid {pid} ({name})' if tgid == pid else f'pid {tgid} ({name}) thread {pid}'
            if tgid == pid:
                meta.append({'name': 'process_name', 'ph': 'M', 'pid': tgid, 'tid': pid, 'ts': 0,
                             'args': {'name': label}})
            meta.append({'name': 'thread_name', 'ph': 'M', 'pid': tgid, 'tid': pid, 'ts': 0,
                         'args': {'name': label}})
            meta.append({'name': 'thread_sort_index', 'ph': 'M', 'pid': tgid, 'tid': pid, 'ts': 0,
                         'args': {'sort_index': pid}})
        return meta

    def document(self) -> dict:
        pending = [{'name': 'dma (not completed)', 'cat': 'dma', 'ph': 'i', 's': 't', 'ts': us(t),
                    'pid': TRACE_PID, 'tid': DISK_TID + key[0], 'args': args}
                   for key, (t, args) in self.inflight.items()]
        return {'traceEvents': self.metadata() + self.events + pending + self.counters,
                'displayTimeUnit': 'ns',
                'otherData': {'generator': 'ukern', 'clock': 'virtual (1 instruction = 1 ns)'}}

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.kernel is not None:
            self._sample(self.kernel.clock.now)      # the counters as the run ends
        with open(self.path, 'w') as f:
            json.dump(self.document(), f, indent=None, separators=(',', ':'))
            f.write('\n')
