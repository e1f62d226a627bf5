"""epoll: an interest set of files, asked all at once which are ready.

An Epoll is a File.  Each interest entry names a (descriptor, file) pair with the events
asked for and the user's 64-bit data.  The entry watches the file's poll_queues(): every
wake of one of them marks the entry as touched and wakes the epoll's own queue (Linux's
ep_poll_callback), which epoll_wait and anyone polling the epoll fd wait on.  Collecting
events asks each file its poll_events():

  level-triggered (the default): reported whenever the events are there;
  EPOLLET: reported once per touch (a new write to a pipe touches it again);
  EPOLLONESHOT: after one report the entry is disabled until EPOLL_CTL_MOD.

An entry lives until EPOLL_CTL_DEL, or until the file's last reference goes (file.release),
or until the epoll itself is closed.  Only files with wait queues (pipes, the console,
eventfds, epolls) can be watched; regular files get EPERM, as in Linux.
"""

import ctypes
import enum

from ..errno import Errno
from ..proc.wait import WaitQueue
from .file import File, O_RDONLY, PollEvents, READABLE

MAX_NESTING = 4                  # epolls inside epolls (Linux's EP_MAX_NESTS)


class EpollEvent(ctypes.LittleEndianStructure):
    """struct epoll_event (uapi/linux/eventpoll.h): packed on x86-64."""
    _pack_ = 1
    _fields_ = [('events', ctypes.c_uint32), ('data', ctypes.c_uint64)]


assert ctypes.sizeof(EpollEvent) == 12


class EpollFlag(enum.IntFlag):
    """The input-only bits of epoll_event.events."""
    EPOLLEXCLUSIVE = 1 << 28
    EPOLLWAKEUP = 1 << 29
    EPOLLONESHOT = 1 << 30
    EPOLLET = 1 << 31


class EpollOp(enum.IntEnum):
    ADD = 1
    DEL = 2
    MOD = 3


ALWAYS_REPORTED = PollEvents.POLLERR | PollEvents.POLLHUP
EVENT_BITS = 0x0FFF_FFFF            # what a file can report; the high bits are EpollFlag


class Interest:
    """One (fd, file) in an epoll's interest set."""

    def __init__(self, epoll: 'Epoll', fd: int, file: File, events: int, data: int):
        self.epoll = epoll
        self.fd = fd
        self.file = file
        self.set(events, data)
        self.queues = file.poll_queues()
        for q in self.queues:
            q.watch(self.touched)

    def set(self, events: int, data: int) -> None:
        self.events = events
        self.data = data
        self.enabled = True
        self.pending = True           # look at it once, as Linux's ep_insert and ep_modify do

    def touched(self, wake) -> None:
        self.pending = True
        self.epoll.changed.wake_all(wake)

    def detach(self) -> None:
        for q in self.queues:
            q.unwatch(self.touched)

    def current(self) -> int:
        """The events to report now (0: none)."""
        if not self.enabled:
            return 0
        if self.events & EpollFlag.EPOLLET and not self.pending:
            return 0
        return self.file.poll_events() & ((self.events & EVENT_BITS) | ALWAYS_REPORTED)


class Epoll(File):
    pollable = True

    def __init__(self, wake, flags: int = O_RDONLY):
        super().__init__(flags)
        self.wake = wake
        self.interest: dict[tuple[int, int], Interest] = {}    # (fd, id(file)) -> entry
        self.changed = WaitQueue('epoll', interruptible=True)

    # -- epoll_ctl -----------------------------------------------------------------------
    def control(self, op: int, fd: int, file: File, events: int, data: int) -> int:
        key = (fd, id(file))
        entry = self.interest.get(key)
        if op == EpollOp.ADD:
            if entry is not None:
                return -Errno.EEXIST
            if isinstance(file, Epoll) and (file is self or file.reaches(self, MAX_NESTING)):
                return -Errno.ELOOP if file is not self else -Errno.EINVAL
            self.interest[key] = Interest(self, fd, file, events, data)
            file.watched_by.append(self)
        elif op == EpollOp.MOD:
            if entry is None:
                return -Errno.ENOENT
            if entry.events & EpollFlag.EPOLLEXCLUSIVE:
                return -Errno.EINVAL
            entry.set(events, data)
        elif op == EpollOp.DEL:
            if entry is None:
                return -Errno.ENOENT
            self._remove(key)
        else:
            return -Errno.EINVAL
        self.changed.wake_all(self.wake)        # a waiter may now have something to report
        return 0

    def reaches(self, other: 'Epoll', depth: int) -> bool:
        """Does this epoll watch `other`, directly or through nested epolls?"""
        if depth == 0:
            return True                          # too deep: treated as a loop
        for e in self.interest.values():
            if e.file is other or (isinstance(e.file, Epoll) and e.file.reaches(other, depth - 1)):
                return True
        return False

    def _remove(self, key) -> None:
        entry = self.interest.pop(key)
        entry.detach()
        still_watched = any(e.file is entry.file for e in self.interest.values())
        if self in entry.file.watched_by and not still_watched:
            entry.file.watched_by.remove(self)

    def forget(self, file: File) -> None:
        """`file` was closed for good: it leaves the interest set."""
        for key in [key for key, e in self.interest.items() if e.file is file]:
            self._remove(key)

    # -- collecting events ---------------------------------------------------------------
    def collect(self, maxevents: int) -> list[tuple[int, int]]:
        """Up to maxevents (events, data) pairs now ready, consuming edge triggers and
        one-shots.  Level-triggered entries reported go to the back of the line, so a
        small maxevents does not always serve the same files."""
        out, again = [], []
        for key, e in list(self.interest.items()):
            if len(out) == maxevents:
                break
            events = e.current()
            e.pending = False
            if not events:
                continue
            out.append((events, e.data))
            if e.events & EpollFlag.EPOLLONESHOT:
                e.enabled = False
            elif not e.events & EpollFlag.EPOLLET:
                again.append(key)
        for key in again:
            self.interest[key] = self.interest.pop(key)
        return out

    def poll_events(self) -> int:
        return int(READABLE) if any(e.current() for e in self.interest.values()) else 0

    def poll_queues(self) -> list:
        return [self.changed]

    def close(self) -> None:
        for key in list(self.interest):
            self._remove(key)
