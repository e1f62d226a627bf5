"""`--faults=walk`: every page fault printed as it is handled, with the page-table walk.

  [pid 1] page fault at 0x1007440: write, not present (user)
          rip 0x1002db9: mov qword ptr [rip + 0x4680], rax
          PML4E[  0] 0x109027 P|W|U|A
          PDPTE[  0] 0x10a027 P|W|U|A
          PDE  [  8] 0x10b027 P|W|U|A
          PTE  [  7] not present -> 0x800000000010d007 P|W|U|NX
          action: file read

A fault that continued a sequential stream says how many pages fault-around mapped with it
("action: zero-fill, and 32 more pages mapped around it").
`fault_details` turns a 'fault' event into plain strings and numbers; the Chrome-trace
writer stores the same details in its JSON, and `ukern trace summary` counts instructions.
"""

from typing import TextIO

from emu.cpu import PFError
from ..mm.pagetable import LEVEL_NAMES, LEVEL_SHIFTS, ENTRIES, describe
from ..trap import disassemble
from .strace import MemoryPeek


def access_of(error: int) -> str:
    if error & PFError.FETCH:
        return 'execute'
    return 'write' if error & PFError.WRITE else 'read'


def cause_of(error: int) -> str:
    if error & PFError.RSVD:
        return 'reserved bit set'
    return 'protection violation' if error & PFError.PRESENT else 'not present'


def entry_text(entry: int | None) -> str:
    if entry is None:
        return '(no table)'
    if not entry:
        return 'not present'
    return f'{entry:#x} {describe(entry)}'


def walk_lines(addr: int, before, after) -> list[str]:
    """One line per level: 'PTE  [  7] not present -> 0x10d007 P|W|U|NX'."""
    b = before.steps if before is not None else []
    a = after.steps if after is not None else []
    lines = []
    for level in range(max(len(b), len(a))):
        idx = (addr >> LEVEL_SHIFTS[level]) & (ENTRIES - 1)
        old = b[level][1] if level < len(b) else None
        new = a[level][1] if level < len(a) else None
        text = entry_text(old) if before is not None else entry_text(new)
        if before is not None and old != new:
            text = f'{entry_text(old)} -> {entry_text(new)}'
        lines.append(f'{LEVEL_NAMES[level]:<5}[{idx:3d}] {text}')
    return lines


def instruction_at(kernel, pid: int, rip: int | None) -> str:
    if rip is None:
        return ''
    code = MemoryPeek(kernel, pid).read(rip, 15)
    return disassemble(code or b'', rip)


def fault_details(kernel, event) -> dict:
    """A fault event as JSON-friendly strings and numbers."""
    a = event.args
    addr, error = a.get('addr', 0), int(a.get('error', 0))
    rip = a.get('rip')
    from_kernel = bool(a.get('from_kernel'))
    return {
        'addr': hex(addr),
        'error': error,
        'access': access_of(error),
        'cause': cause_of(error),
        'mode': 'kernel copy of user memory' if from_kernel else 'user',
        'rip': hex(rip) if rip is not None else None,
        'instruction': instruction_at(kernel, event.pid, rip) if rip is not None else None,
        'action': a.get('action', ''),
        'reason': a.get('reason', ''),
        'around': int(a.get('around', 0)),     # pages fault-around mapped besides this one
        'huge': bool(a.get('huge')),           # it mapped a 2 MiB page (mm/huge.py)
        'walk': walk_lines(addr, a.get('before'), a.get('after')),
    }


def format_fault(kernel, event, details: dict | None = None) -> str:
    d = details or fault_details(kernel, event)
    head = f'[pid {event.pid}] page fault at {d["addr"]}: {d["access"]}, {d["cause"]} ({d["mode"]})'
    pad = ' ' * 8
    lines = [head]
    if d['rip'] is not None:
        lines.append(f'{pad}rip {d["rip"]}: {d["instruction"]}')
    elif d['mode'] != 'user':
        lines.append(f'{pad}in a system call (the kernel touched user memory)')
    lines += [pad + w for w in d['walk']]
    action = d['action'] + (f' ({d["reason"]})' if d['reason'] else '')
    if d.get('around'):
        action += f', and {d["around"]} more pages mapped around it (fault-around)'
    if d.get('huge'):
        action += ', mapped a 2 MiB page'
    lines.append(f'{pad}action: {action}')
    return '\n'.join(lines)


class FaultView:
    """A Tracer listener printing each page fault to `stream`."""

    def __init__(self, kernel, stream: TextIO):
        self.kernel = kernel
        self.stream = stream

    def __call__(self, event) -> None:
        if event.kind != 'fault':
            return
        try:
            text = format_fault(self.kernel, event)
        except Exception as e:         # never let a view break the kernel
            text = f'[pid {event.pid}] page fault (cannot show: {e})'
        self.stream.write(text + '\n')
        self.stream.flush()
