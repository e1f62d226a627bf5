"""epoll and eventfd system calls (the objects themselves: fs/epoll.py, fs/eventfd.py).

epoll_wait waits on the epoll's own queue, which any change in a watched file wakes
(sys/poll.py wait_ready, the same wait as poll's); epoll_pwait does so under a given
signal mask.  Argument checks follow Linux's order: the event is copied in first (EFAULT),
then the descriptors (EBADF), then what they are (EINVAL, EPERM), then the set (EEXIST,
ENOENT).
"""

import ctypes

from ..errno import Errno
from ..fs.epoll import Epoll, EpollEvent, EpollFlag, EpollOp
from ..fs.eventfd import EventFd, EfdFlag
from ..fs.file import O_CLOEXEC
from .args import s32
from .poll import NS_PER_MS, read_sigmask, wait_ready, with_sigmask

EPOLL_CLOEXEC = O_CLOEXEC
EP_MAX_EVENTS = 0x7FFF_FFFF // ctypes.sizeof(EpollEvent)


# -- epoll ---------------------------------------------------------------------------------
def sys_epoll_create1(k, p, flags: int) -> int:
    if flags & ~EPOLL_CLOEXEC:
        return -Errno.EINVAL
    return p.fds.install(Epoll(k.wake), cloexec=bool(flags & EPOLL_CLOEXEC))


def sys_epoll_create(k, p, size: int) -> int:
    if s32(size) <= 0:
        return -Errno.EINVAL             # the size is a hint, but must be positive
    return sys_epoll_create1(k, p, 0)


def sys_epoll_ctl(k, p, epfd: int, op: int, fd: int, event: int) -> int:
    events = data = 0
    if op != EpollOp.DEL:
        ev = EpollEvent.from_buffer_copy(k.user(p).read(event, ctypes.sizeof(EpollEvent)))
        events, data = ev.events, ev.data
    ep, f = p.fds.get(epfd), p.fds.get(fd)
    if ep is None or f is None:
        return -Errno.EBADF
    if not f.pollable:
        return -Errno.EPERM
    if not isinstance(ep, Epoll) or epfd == fd:
        return -Errno.EINVAL
    if events & EpollFlag.EPOLLEXCLUSIVE and (op == EpollOp.MOD or isinstance(f, Epoll)):
        return -Errno.EINVAL
    return ep.control(op, fd, f, events, data)


def _epoll_wait(k, p, epfd: int, events_addr: int, maxevents: int, timeout: int, mask):
    maxevents = s32(maxevents)
    if not 0 < maxevents <= EP_MAX_EVENTS:
        return -Errno.EINVAL
    size = ctypes.sizeof(EpollEvent)
    mem = k.user(p)
    mem.check_range(events_addr, maxevents * size)
    ep = p.fds.get(epfd)
    if ep is None:
        return -Errno.EBADF
    if not isinstance(ep, Epoll):
        return -Errno.EINVAL
    ms = s32(timeout)
    deadline = None if ms < 0 else k.clock.now + ms * NS_PER_MS
    found = []

    def scan():
        found[:] = ep.collect(maxevents)
        return len(found), [ep]

    n = yield from with_sigmask(k, p, mask, wait_ready(k, p, scan, deadline))
    if n > 0:
        mem.write(events_addr, b''.join(bytes(EpollEvent(events=e, data=d)) for e, d in found))
    return n


def sys_epoll_wait(k, p, epfd: int, events: int, maxevents: int, timeout: int):
    return (yield from _epoll_wait(k, p, epfd, events, maxevents, timeout, None))


def sys_epoll_pwait(k, p, epfd: int, events: int, maxevents: int, timeout: int,
                    sigmask: int, sigsetsize: int):
    try:
        mask = read_sigmask(k, p, sigmask, sigsetsize)
    except ValueError:
        return -Errno.EINVAL
    return (yield from _epoll_wait(k, p, epfd, events, maxevents, timeout, mask))


# -- eventfd -------------------------------------------------------------------------------
def sys_eventfd2(k, p, initval: int, flags: int) -> int:
    if flags & ~(EfdFlag.EFD_SEMAPHORE | EfdFlag.EFD_NONBLOCK | EfdFlag.EFD_CLOEXEC):
        return -Errno.EINVAL
    f = EventFd(k.wake, initval & 0xFFFF_FFFF, flags)
    return p.fds.install(f, cloexec=bool(flags & EfdFlag.EFD_CLOEXEC))


def sys_eventfd(k, p, initval: int) -> int:
    return sys_eventfd2(k, p, initval, 0)
