"""A system-call lab solution with one known mistake, for the grader's own test
(tests/test_labs.py): trace's mask stays with the process that called trace, so a child
forked afterwards is not traced (the handout: "A child forked afterwards inherits the
mask").  The fix: when a traced process's fork returns the child's pid, give the child
the mask.
"""

import struct

from kernel.errno import Errno

TRACEABLE = 64                     # calls 0..63: one bit each in the 64-bit mask


def sys_trace(k, p, mask) -> int:
    p.trace_mask = mask & ((1 << TRACEABLE) - 1)
    if not getattr(k, 'lab_trace_on', False):
        k.lab_trace_on = True
        k.trace.subscribe(lambda e: _traced(k, e))
    return 0


def _traced(k, e) -> None:
    if e.kind != 'syscall':
        return
    p = k.procs.get(e.pid)
    mask = getattr(p, 'trace_mask', 0) if p is not None else 0
    nr, result = e.args['nr'], e.args['result']
    if nr < TRACEABLE and mask >> nr & 1:
        shown = 'no return' if result is None else result
        k.console.write(f'{e.pid}: syscall {e.args["name"]} -> {shown}\n'.encode())


def sys_sysinfo(k, p, addr) -> int:
    if not addr:
        return -Errno.EFAULT
    k.user(p).write(addr, struct.pack('<QQQ', k.frames.free_count, k.frames.total, len(k.procs)))
    return 0
