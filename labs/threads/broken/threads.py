"""A deliberately broken solution of lab threads, for the grader's own test (tests/test_labs_new.py).

The one mistake: FUTEX_WAKE wakes every waiter on the word, whatever n asks for (a
thundering herd: a mutex's unlock wakes all its waiters, and FUTEX_WAKE returns too many).
"""

import dataclasses

from kernel.errno import Errno
from kernel.proc.futex import Waiter, BITSET_MATCH_ANY
from kernel.proc.lifecycle import task_limit, new_pid
from kernel.proc.process import Process, THREAD_SHARED


def new_thread(k, parent, share_files: bool, share_fs: bool):
    if len(k.procs) >= task_limit(parent):
        return -Errno.EAGAIN
    ctx = k.cpu.new_context()
    k.cpu.set_context_reg(ctx, 'rax', 0)
    t = Process(new_pid(k), parent.ppid, parent.name, parent.aspace, ctx, parent.fds,
                pgid=parent.pgid, sid=parent.sid, sigmask=parent.sigmask, tgid=parent.tgid)
    for name in THREAD_SHARED:
        setattr(t, name, getattr(parent, name))
    if not share_files:
        t.fds = parent.fds.fork()
    if not share_fs:
        t.cwd = dataclasses.replace(parent.cwd)
    k.procs[t.pid] = t
    k.runqueue.append(t)
    return t


def wait(k, p, key, until, bitset: int):
    w = Waiter(k.futexes, key, bitset)
    timer = None
    if until is not None:
        timer = k.clock.schedule(until, lambda: k.wake(w.proc) if w.proc is not None and
                                 w.proc.waiting_on is w else None)
    try:
        while True:
            if until is not None and k.clock.now >= until:
                return False
            yield w
            if w.woken:
                return True
            k.futexes.remove(w)
    finally:
        k.futexes.remove(w)
        if timer is not None and k.clock.now < until:
            k.clock.cancel(timer)


def wake(self, key, n: int, bitset: int = BITSET_MATCH_ANY) -> int:
    woken = 0
    for w in list(self.queues.get(key, ())):
        if w.bitset & bitset:                 # THE MISTAKE: no `if woken >= n: break`
            self.remove(w)
            w.woken = True
            self.wake_proc(w.proc)
            woken += 1
    return woken
