"""Waiting on several files at once: poll, ppoll, select, pselect6.

Each call looks at every file's poll_events(); if none has what is asked for, it waits on
all their poll_queues() at once (proc/wait.py WaitAny) until one of them is woken or the
deadline passes, then looks again.  A signal ends the wait with EINTR (these calls are
never restarted).  Timeouts are virtual time: 0 looks once and returns, none (negative for
poll, NULL for the others) waits as long as it takes.  ppoll and pselect6 wait with the
signal mask they are given (`with_sigmask`), as an atomic sigprocmask + wait.
"""

import ctypes
import struct

from ..errno import Errno
from ..fs.file import MAX_FDS, PollEvents
from ..proc import lifecycle
from ..proc import signal as psig
from ..proc.wait import WaitAny
from .args import s32, s64

NS_PER_MS = 1_000_000
NS_PER_US = 1_000
NS_PER_S = 1_000_000_000
SIGSET_SIZE = 8
NFDS_MAX = MAX_FDS                  # RLIMIT_NOFILE (sys/time.py sys_prlimit64 reports it)

# What select counts as ready in each set (Linux's POLLIN_SET, POLLOUT_SET, POLLEX_SET).
E = PollEvents
SELECT_READ = E.POLLIN | E.POLLRDNORM | E.POLLRDBAND | E.POLLHUP | E.POLLERR
SELECT_WRITE = E.POLLOUT | E.POLLWRNORM | E.POLLWRBAND | E.POLLERR
SELECT_EXCEPT = E.POLLPRI
ALWAYS_REPORTED = E.POLLERR | E.POLLHUP          # poll reports these unasked


class PollFd(ctypes.LittleEndianStructure):
    """struct pollfd (asm-generic/poll.h)."""
    _fields_ = [('fd', ctypes.c_int32), ('events', ctypes.c_int16), ('revents', ctypes.c_int16)]


assert ctypes.sizeof(PollFd) == 8

TIMESPEC = struct.Struct('<qq')       # struct timespec / struct timeval: seconds, then ns or us
SIGSET_ARG = struct.Struct('<QQ')     # pselect6's 6th argument: (const sigset_t *, size_t)


# -- the common wait ------------------------------------------------------------------------
def wait_ready(k, p, scan, deadline: int | None):
    """A generator: call scan() -> (count, files) until count > 0 or the deadline passes,
    waiting in between on the files' queues.  Returns count, or -EINTR."""
    while True:
        count, files = scan()
        if count or (deadline is not None and k.clock.now >= deadline):
            return count
        if lifecycle.deliverable(p) is not None:
            return -Errno.EINTR          # a signal came while the call was not asleep
        queues = [q for f in files for q in f.poll_queues()]
        waiter = WaitAny(queues, k.wake, k.clock, deadline)
        try:
            yield waiter
        finally:
            waiter.discard(p)


def with_sigmask(k, p, mask: int | None, gen):
    """Run the waiting generator `gen` with p's signal mask set to `mask` (None: as it
    is).  At a normal return the old mask comes back at once; when a signal ends the wait
    it comes back only after the handler's frame is set up (lifecycle.deliver), so a
    signal the new mask unblocks is delivered."""
    if mask is None:
        return (yield from gen)
    old = p.sigmask
    p.sigmask = mask & ~psig.UNBLOCKABLE
    try:
        result = yield from gen
    except GeneratorExit:                # interrupted by a signal: EINTR on the way
        p.saved_sigmask = old
        raise
    except Exception:                    # a bad pointer (EFAULT) and the like
        p.sigmask = old
        raise
    if result == -Errno.EINTR:
        p.saved_sigmask = old
    else:
        p.sigmask = old
    return result


def read_sigmask(k, p, addr: int, size: int) -> int | None:
    """A sigset_t argument: None for NULL; raises ValueError for a wrong size."""
    if not addr:
        return None
    if size != SIGSET_SIZE:
        raise ValueError
    return k.user(p).read_u64(addr)


def deadline_after(k, ns: int | None) -> int | None:
    return None if ns is None else k.clock.after(ns)


def read_timespec(k, p, addr: int, unit_ns: int) -> int | None:
    """A struct timespec (unit 1) or timeval (unit 1000) as ns; None for NULL; raises
    ValueError when it is not a valid time."""
    if not addr:
        return None
    sec, frac = TIMESPEC.unpack(k.user(p).read(addr, TIMESPEC.size))
    sec, frac = s64(sec), s64(frac)
    if sec < 0 or not 0 <= frac * unit_ns < NS_PER_S:
        raise ValueError
    return sec * NS_PER_S + frac * unit_ns


def write_remaining(k, p, addr: int, deadline: int | None, unit_ns: int) -> None:
    """select, pselect6 and ppoll report the time left, as Linux does."""
    if addr and deadline is not None:
        left = max(0, deadline - k.clock.now)
        k.user(p).write(addr, TIMESPEC.pack(left // NS_PER_S, (left % NS_PER_S) // unit_ns))


# -- poll ----------------------------------------------------------------------------------
def do_poll(k, p, fds_addr: int, nfds: int, deadline: int | None, mask: int | None):
    if nfds > NFDS_MAX:
        return -Errno.EINVAL
    mem = k.user(p)
    size = ctypes.sizeof(PollFd)
    entries = [PollFd.from_buffer_copy(mem.read(fds_addr + i * size, size)) for i in range(nfds)]

    def scan():
        count, files = 0, []
        for e in entries:
            e.revents = 0
            if e.fd < 0:
                continue                             # negative fds are skipped
            f = p.fds.get(e.fd)
            if f is None:
                e.revents = PollEvents.POLLNVAL
            else:
                e.revents = f.poll_events() & ((e.events & 0xFFFF) | ALWAYS_REPORTED)
                files.append(f)
            count += e.revents != 0
        return count, files

    n = yield from with_sigmask(k, p, mask, wait_ready(k, p, scan, deadline))
    if n >= 0:
        mem.write(fds_addr, b''.join(bytes(e) for e in entries))
    return n


def sys_poll(k, p, fds: int, nfds: int, timeout: int):
    ms = s32(timeout)
    deadline = None if ms < 0 else k.clock.now + ms * NS_PER_MS
    return (yield from do_poll(k, p, fds, nfds, deadline, None))


def sys_ppoll(k, p, fds: int, nfds: int, tsp: int, sigmask: int, sigsetsize: int):
    try:
        deadline = deadline_after(k, read_timespec(k, p, tsp, 1))
        mask = read_sigmask(k, p, sigmask, sigsetsize)
    except ValueError:
        return -Errno.EINVAL
    n = yield from do_poll(k, p, fds, nfds, deadline, mask)
    write_remaining(k, p, tsp, deadline, 1)
    return n


# -- select --------------------------------------------------------------------------------
def _read_fdset(mem, addr: int, nfds: int) -> int:
    """An fd_set's first nfds bits as an integer (bit i = fd i); 0 for NULL."""
    if not addr:
        return 0
    raw = mem.read(addr, (nfds + 63) // 64 * 8)
    return int.from_bytes(raw, 'little') & ((1 << nfds) - 1)


def _write_fdset(mem, addr: int, nfds: int, bits: int) -> None:
    if addr:
        mem.write(addr, bits.to_bytes((nfds + 63) // 64 * 8, 'little'))


def do_select(k, p, nfds: int, sets: tuple[int, int, int], deadline: int | None, mask: int | None):
    nfds = s32(nfds)
    if nfds < 0:
        return -Errno.EINVAL
    nfds = min(nfds, NFDS_MAX)           # Linux clips to the descriptor table's size
    mem = k.user(p)
    wanted = [_read_fdset(mem, addr, nfds) for addr in sets]
    fds = [fd for fd in range(nfds) if (wanted[0] | wanted[1] | wanted[2]) >> fd & 1]
    if any(p.fds.get(fd) is None for fd in fds):
        return -Errno.EBADF
    found = [0, 0, 0]

    def scan():
        found[:] = [0, 0, 0]
        files = []
        for fd in fds:
            f = p.fds.get(fd)
            if f is None:
                continue                 # closed meanwhile (by another process sharing it)
            files.append(f)
            events = f.poll_events()
            for i, kind in enumerate((SELECT_READ, SELECT_WRITE, SELECT_EXCEPT)):
                if wanted[i] >> fd & 1 and events & kind:
                    found[i] |= 1 << fd
        return sum(bin(s).count('1') for s in found), files

    n = yield from with_sigmask(k, p, mask, wait_ready(k, p, scan, deadline))
    if n >= 0:
        for addr, bits in zip(sets, found):
            _write_fdset(mem, addr, nfds, bits)
    return n


def sys_select(k, p, nfds: int, readfds: int, writefds: int, exceptfds: int, timeout: int):
    try:
        deadline = deadline_after(k, read_timespec(k, p, timeout, NS_PER_US))
    except ValueError:
        return -Errno.EINVAL
    n = yield from do_select(k, p, nfds, (readfds, writefds, exceptfds), deadline, None)
    write_remaining(k, p, timeout, deadline, NS_PER_US)
    return n


def sys_pselect6(k, p, nfds: int, readfds: int, writefds: int, exceptfds: int, tsp: int, sig: int):
    try:
        deadline = deadline_after(k, read_timespec(k, p, tsp, 1))
        mask = None
        if sig:
            set_addr, set_size = SIGSET_ARG.unpack(k.user(p).read(sig, SIGSET_ARG.size))
            mask = read_sigmask(k, p, set_addr, set_size)
    except ValueError:
        return -Errno.EINVAL
    n = yield from do_select(k, p, nfds, (readfds, writefds, exceptfds), deadline, mask)
    write_remaining(k, p, tsp, deadline, 1)
    return n
