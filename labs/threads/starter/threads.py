"""Lab threads: kernel threads and futexes.  `ukern lab start threads` copied this file to
labs/threads/student/threads.py; while the lab is active

    kernel.proc.lifecycle.new_thread    is  new_thread(k, parent, share_files, share_fs) below
    kernel.proc.futex.wait              is  wait(k, p, key, until, bitset) below
    kernel.proc.futex.FutexTable.wake   is  wake(self, key, n, bitset) below

Today clone(CLONE_THREAD) fails with EAGAIN (pthread_create reports it), FUTEX_WAIT
returns at once as if woken (futex's contract allows a spurious wake-up, so a correct lock
still works, by spinning through the kernel), and FUTEX_WAKE wakes nobody.  Make threads,
and make futex waiters sleep until they are woken.  Read labs/threads/README.md first.
"""

import dataclasses  # noqa: F401  (dataclasses.replace copies a cwd)

from kernel.errno import Errno
from kernel.proc.futex import Waiter, BITSET_MATCH_ANY  # noqa: F401
from kernel.proc.lifecycle import task_limit, new_pid  # noqa: F401
from kernel.proc.process import Process, THREAD_SHARED  # noqa: F401


def new_thread(k, parent, share_files: bool, share_fs: bool):
    """A new thread of parent's thread group (clone with CLONE_THREAD and CLONE_VM), made
    runnable; or -EAGAIN.  Its registers are the parent's at the system call with rax = 0
    (the caller then sets its stack pointer and TLS)."""
    if len(k.procs) >= task_limit(parent):
        return -Errno.EAGAIN
    # TODO: a context (k.cpu.new_context()) with rax = 0 (k.cpu.set_context_reg), a Process
    # with a new pid (new_pid(k)) in parent's group (tgid), parent's parent, process group
    # and session, and parent's signal mask; it shares every field of THREAD_SHARED with
    # parent (the same objects, not copies), except the descriptor table without
    # share_files and the working directory without share_fs.  Then it goes into the
    # process table (k.procs) and the run queue (k.runqueue).
    return -Errno.EAGAIN


def wait(k, p, key, until, bitset: int):
    """A generator (FUTEX_WAIT, after the word was found to hold the expected value): block
    thread p under `key` until a wake-up (return True) or until virtual time `until`
    (return False; None: no timeout)."""
    # TODO: make a Waiter(k.futexes, key, bitset) and yield it: the scheduler blocks p and
    # calls waiter.add(p), which queues the waiter in the table.  You come back when the
    # thread is runnable again: woken (waiter.woken), by your timer (k.clock.schedule), or
    # by a signal (then the kernel throws into your generator: clean up in `finally`).
    if until is not None and k.clock.now >= until:
        return False
    return True                     # a spurious wake-up: the caller looks at its word again
    yield                           # (a generator, as every waiting system call is)


def wake(self, key, n: int, bitset: int = BITSET_MATCH_ANY) -> int:
    """FUTEX_WAKE: wake up to n of the waiters queued under key (self.queues[key], oldest
    first) whose bitset meets `bitset`; returns how many were woken."""
    # TODO: take each woken waiter out of the table (self.remove), mark it woken, and make
    # its thread runnable (self.wake_proc(waiter.proc)).
    return 0
