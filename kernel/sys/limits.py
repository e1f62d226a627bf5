"""Resource limits: getrlimit, setrlimit, prlimit64.

A process's limits live in its `limits` (proc/resources.py), copied at fork.  They are
enforced where the resource is taken:
  RLIMIT_NOFILE  the descriptor table refuses descriptors at or above it (EMFILE)
  RLIMIT_NPROC   fork and clone fail with EAGAIN once that many processes exist
  RLIMIT_STACK   the fault handler grows the stack no further
  RLIMIT_AS      mmap, mremap and brk fail with ENOMEM beyond it
The others are kept and reported.  Every process here is root with CAP_SYS_RESOURCE, so
raising a hard limit is allowed, as Linux allows it to root; a process that has set its
ids to another user is refused with EPERM.
"""

import ctypes

from ..errno import Errno
from ..fs.file import MAX_FDS
from ..proc.resources import Rlimit
from .args import s32


class RlimitStruct(ctypes.LittleEndianStructure):
    """struct rlimit64 (include/uapi/linux/resource.h)."""
    _fields_ = [('rlim_cur', ctypes.c_uint64), ('rlim_max', ctypes.c_uint64)]


assert ctypes.sizeof(RlimitStruct) == 16

RLIM_NLIMITS = len(Rlimit)


def sys_getrlimit(k, p, resource: int, rlim: int) -> int:
    return _prlimit(k, p, p, resource, 0, rlim)


def sys_setrlimit(k, p, resource: int, rlim: int) -> int:
    return _prlimit(k, p, p, resource, rlim, 0)


def sys_prlimit64(k, p, pid: int, resource: int, new: int, old: int) -> int:
    pid = s32(pid)
    target = p if pid == 0 else k.procs.get(pid)
    if target is None or pid < 0:
        return -Errno.ESRCH
    return _prlimit(k, p, target, resource, new, old)


def _prlimit(k, p, target, resource: int, new: int, old: int) -> int:
    if resource >= RLIM_NLIMITS:
        return -Errno.EINVAL
    cur, mx = target.limits.get(resource)
    if new:
        want = RlimitStruct.from_buffer_copy(k.user(p).read(new, ctypes.sizeof(RlimitStruct)))
        error = _check(p, resource, want, mx)
        if error:
            return error
    if old:
        k.user(p).write(old, bytes(RlimitStruct(cur, mx)))
    if new:
        target.limits.values[Rlimit(resource)] = (want.rlim_cur, want.rlim_max)
        apply(target)
    return 0


def _check(p, resource: int, want: RlimitStruct, hard: int) -> int:
    if want.rlim_cur > want.rlim_max:
        return -Errno.EINVAL
    if want.rlim_max > hard and p.creds.euid != 0:
        return -Errno.EPERM                     # only CAP_SYS_RESOURCE raises a hard limit
    if resource == Rlimit.NOFILE and want.rlim_max > MAX_FDS:
        return -Errno.EPERM                     # as Linux beyond fs.nr_open (infinity too)
    return 0


def apply(p) -> None:
    """Make a changed limit take effect where it is not read at each use."""
    p.fds.limit = min(p.limits.soft(Rlimit.NOFILE), MAX_FDS)
