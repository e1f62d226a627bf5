"""Wait queues: how a system call waits for an event without sleeping in Python.

A blocking system call is a generator: it yields the WaitQueue (or Timer) it waits on, the
kernel marks the process BLOCKED and runs someone else, and `wake_all` makes the waiters
runnable again; the kernel then resumes the generator where it stopped (xv6's sleep and
wakeup, with the generator frame as the kernel stack).  At boot and shutdown no process
runs to block, and run_boot drives the same generators by running the machine until each
wait is over.
"""

from dataclasses import dataclass


class WaitQueue:
    def __init__(self, name: str, interruptible: bool = False):
        self.name = name
        self.waiters: list = []
        self.watchers: list = []          # callbacks (wake) -> None, called at every wake
        # May a signal end the wait early (console, pipes, wait4, sleep)?  Disk waits may
        # not: a file-system update half done must finish.
        self.interruptible = interruptible

    def add(self, proc) -> None:
        self.waiters.append(proc)

    def discard(self, proc) -> None:
        if proc in self.waiters:
            self.waiters.remove(proc)

    def watch(self, callback) -> None:
        self.watchers.append(callback)

    def unwatch(self, callback) -> None:
        if callback in self.watchers:
            self.watchers.remove(callback)

    def wake_all(self, wake) -> None:
        """`wake` is the kernel's make-runnable function."""
        waiters, self.waiters = self.waiters, []
        for p in waiters:
            wake(p)
        for callback in list(self.watchers):
            callback(wake)

    def __repr__(self) -> str:
        return f'<wait {self.name}>'


@dataclass
class Sleep:
    """Yielded by a system call that waits until a virtual time (nanosleep)."""
    until: int
    interruptible = True


class WaitAny:
    """Yielded by a system call that waits until any of several queues is woken, or until
    the virtual time `until` (None: no deadline).  Whichever comes first makes the process
    runnable; the call must then `discard` it from the other queues (a signal's
    abort_wait does the same), and look again at what it waits for."""
    interruptible = True
    name = 'wait any'

    def __init__(self, queues, wake, clock=None, until: int | None = None):
        self.queues = list({id(q): q for q in queues}.values())   # each queue once
        self.wake = wake
        self.clock = clock
        self.until = until
        self.timer = None

    def add(self, proc) -> None:
        for q in self.queues:
            q.add(proc)
        if self.until is not None:
            self.timer = self.clock.schedule(self.until, lambda: self._expire(proc))

    def _expire(self, proc) -> None:
        self.timer = None
        if proc.waiting_on is self:
            self.wake(proc)

    def discard(self, proc) -> None:
        for q in self.queues:
            q.discard(proc)
        if self.timer is not None:
            self.clock.cancel(self.timer)
            self.timer = None

    def __repr__(self) -> str:
        return f'<wait any of {self.queues}>'


# -- waiting with no process: boot and shutdown ------------------------------------------

class _BootWaiter:
    """Stands in for a process on a WaitQueue while the kernel boots."""
    state = None        # never State.BLOCKED, so Kernel.wake leaves it alone

    def __repr__(self) -> str:
        return '<boot>'


def run_boot(kernel, gen):
    """Drive a blocking kernel generator to its result when no process runs (boot,
    shutdown): each yielded WaitQueue is waited for with kernel.run_until until it has
    been woken, each Sleep until its time.  Exceptions from the generator propagate."""
    value = None
    while True:
        try:
            on = gen.send(value)
        except StopIteration as stop:
            return stop.value
        if isinstance(on, WaitQueue):
            token = _BootWaiter()
            on.add(token)
            kernel.run_until(lambda: all(w is not token for w in on.waiters))
        elif isinstance(on, Sleep):
            kernel.run_until(lambda: kernel.clock.now >= on.until)
        else:
            gen.close()
            raise TypeError(f'run_boot: the operation waited on {on!r}')
