"""`--faults` (or `--faults=brief`): one line per page fault, in the manner of `perf trace -F all`.

      0.061843 faultdemo/1     min demand-zero   0x1009000 [heap]        rip 0x1001a2c main+0x4c => zero-fill
  virtual ms  process/pid     maj  kind          address   its region    instruction             what the kernel did

The process is name/pid, and name/pid:tid for a thread other than the first.  A fault is
`maj` (major) when the process had to wait for the disk, as getrusage counts it (the
access then runs again and faults once more, `min`, to map the page that arrived).  The
kinds:

  demand-zero    first touch of an anonymous page (heap, mmap, .bss): a zeroed frame
  file-page      a page of a mapped file or of the program image
  cow-break      a write to a page shared copy-on-write (after fork, or a private file page)
  stack-growth   an access just below the stack, which grows down to it
  swap-in        a page that was swapped out
  protection     an access the region does not allow, or to no region: the process is
                 killed (SIGSEGV/SIGBUS), or the system call that touched it fails with EFAULT
  spurious, object, shm, no-memory, io-wait: the rarer outcomes (see mm/fault.py's Action)

`fault_record` turns a 'fault' event into a FaultRecord while the process still has the
region (so it is made when the event happens); the summary (faultstats.py), the Chrome
trace and the plot use the same records.
"""

from dataclasses import dataclass
from typing import TextIO

from ..mm.fault import Action
from ..mm.pagetable import SWAP
from .where import Namer

KINDS = {
    Action.ZERO_FILL.value: 'demand-zero',
    Action.FILE_READ.value: 'file-page',
    Action.COW_COPY.value: 'cow-break',
    Action.COW_REUSE.value: 'cow-break',
    Action.STACK_GROW.value: 'stack-growth',
    Action.SWAP_IN.value: 'swap-in',
    Action.KILL.value: 'protection',
    Action.EFAULT.value: 'protection',
    Action.SPURIOUS.value: 'spurious',
    Action.OBJECT.value: 'object',
    Action.SHARED_PAGE.value: 'shm',
    Action.NO_MEMORY.value: 'no-memory',
}
WAIT = Action.WAIT.value
KIND_WIDTH = 13


@dataclass
class FaultRecord:
    time: int               # virtual ns
    tid: int
    tgid: int
    comm: str
    major: bool
    kind: str
    addr: int
    region: str
    rip: int | None         # None: the kernel's copy of user memory faulted (in a system call)
    symbol: str
    did: str                # what the kernel did: the action, its reason, pages mapped around

    @property
    def process(self) -> str:
        return f'pid {self.tgid} ({self.comm})'

    @property
    def who(self) -> str:
        return f'{self.comm}/{self.tgid}' + (f':{self.tid}' if self.tid != self.tgid else '')


def kind_of(action: str, before_leaf: int, file_backed: bool) -> str:
    """A fault's kind from what the kernel did; a wait is for a swap slot's read when the
    entry held one, else for the file (or asynchronous read) the page comes from."""
    if action == WAIT:
        if before_leaf & SWAP:
            return 'swap-in'
        return 'file-page' if file_backed else 'io-wait'
    return KINDS.get(action, action)


def fault_record(namer: Namer, event) -> FaultRecord:
    a = event.args
    kernel = namer.kernel
    addr, rip, action = a.get('addr', 0), a.get('rip'), a.get('action', '')
    p = kernel.procs.get(event.pid) if kernel is not None else None
    region = namer.region_of(event.pid, addr)
    before = a.get('before')
    file_backed = region is not None and (region.file is not None or region.image is not None
                                          or region.obj is not None)
    did = action + (f' ({a["reason"]})' if a.get('reason') else '')
    if a.get('around'):                      # fault-around mapped more pages with this one
        did += f', +{a["around"]} page{"s" if a["around"] != 1 else ""} around'
    if a.get('huge'):                        # the whole aligned block as one PDE (mm/huge.py)
        did += ', mapped a 2 MiB page'
    return FaultRecord(time=event.time, tid=event.pid, tgid=p.tgid if p is not None else event.pid,
                       comm=p.name if p is not None else '?', major=action == WAIT,
                       kind=kind_of(action, before.leaf if before is not None else 0, file_backed),
                       addr=addr, region=namer.region(event.pid, addr), rip=rip,
                       symbol=namer.symbol(event.pid, rip), did=did)


def format_brief(r: FaultRecord) -> str:
    where = f'rip {r.rip:#x}' + (f' {r.symbol}' if r.symbol else '') if r.rip is not None \
        else 'in a system call'
    return (f'{r.time / 1e6:12.6f} {r.who:<15} {"maj" if r.major else "min"} {r.kind:<{KIND_WIDTH}} '
            f'{r.addr:#14x} {r.region:<16} {where} => {r.did}')


class FaultLog:
    """The `--faults` listener: each fault of the chosen processes as one line ('brief'),
    as the page-table walk ('walk', faultview.py) or not at all ('summary'), and the
    summary of them all when the run ends (close)."""

    def __init__(self, kernel, stream: TextIO, mode: str = 'brief', pids: frozenset = frozenset(),
                 plot: str | None = None):
        from .faultstats import FaultTally
        self.kernel = kernel
        self.stream = stream
        self.mode = mode
        self.pids = pids
        self.namer = Namer(kernel)
        self.tally = FaultTally() if mode != 'none' else None
        self.points: list[FaultRecord] | None = [] if plot else None
        self.plot = plot

    def __call__(self, event) -> None:
        if event.kind != 'fault':
            return
        try:
            r = fault_record(self.namer, event)
            if self.pids and r.tgid not in self.pids and r.tid not in self.pids:
                return
            if self.mode == 'brief':
                text = format_brief(r)
            elif self.mode == 'walk':
                from .faultview import format_fault
                text = format_fault(self.kernel, event)
            else:
                text = None
            if self.tally is not None:
                self.tally.add_record(r, self.kernel)
            if self.points is not None:
                self.points.append(r)
        except Exception as e:         # never let a view break the kernel
            text = f'[pid {event.pid}] page fault (cannot show: {e})'
        if text is not None:
            self.stream.write(text + '\n')
            self.stream.flush()

    def close(self) -> None:
        if self.tally is not None:
            from .faultstats import format_summary
            self.stream.write(format_summary(self.tally))
            self.stream.flush()
        if self.points is not None:
            from .faultplot import plot_faults, points_of_records
            title = self.points[0].process if self.points else 'ukern run'
            plot_faults(points_of_records(self.points), self.plot, title)
