"""ukern's own system calls for the system-call lab (labs/syscall): trace and sysinfo.

    trace(mask)            from now on, print a line for each system call number n with
                           bit n of mask set (n < 64) that this process -- and the children
                           it forks afterwards -- makes:  "PID: syscall NAME -> RESULT"
    sysinfo(struct *info)  fills struct ukern_sysinfo (userland/include/ukern.h):
                           free frames, total frames, processes (zombies included)

They are numbered UKERN_BASE + 0 and + 1 (userland/include/ukern.h: SYS_ukern_trace,
SYS_ukern_sysinfo).  The printing is done by a listener on the kernel's event stream
(kernel/trace/events.py), which already announces every finished system call; the mask is
an attribute of the process and is copied to the child when fork (or clone) returns.
"""

import struct

from ..errno import Errno

FORKS = {56, 57, 58}               # clone, fork, vfork: the result is the child's pid
TRACEABLE = 64                     # calls 0..63: one bit each in the 64-bit mask


def sys_trace(k, p, mask) -> int:
    p.trace_mask = mask & ((1 << TRACEABLE) - 1)
    if not getattr(k, 'syscall_trace_on', False):
        k.syscall_trace_on = True
        k.trace.subscribe(lambda e: _traced(k, e))
    return 0


def _traced(k, e) -> None:
    if e.kind != 'syscall':
        return
    p = k.procs.get(e.pid)
    mask = getattr(p, 'trace_mask', 0) if p is not None else 0
    if not mask:
        return
    nr, result = e.args['nr'], e.args['result']
    if nr in FORKS and isinstance(result, int) and result > 0 and result in k.procs:
        k.procs[result].trace_mask = mask
    if nr < TRACEABLE and mask >> nr & 1:
        shown = 'no return' if result is None else result
        k.console.write(f'{e.pid}: syscall {e.args["name"]} -> {shown}\n'.encode())


SYSINFO = struct.Struct('<QQQ')     # free_frames, total_frames, nproc


def sys_sysinfo(k, p, addr) -> int:
    if not addr:
        return -Errno.EFAULT
    info = SYSINFO.pack(k.frames.free_count, k.frames.total, len(k.procs))
    k.user(p).write(addr, info)          # BadAddress: the call returns EFAULT
    return 0
