"""The scheduler's choice after a slice: who runs next.

The kernel's loop (`Kernel.run`) runs the task at the head of `k.runqueue` for one slice
(at most `k.quantum` instructions of virtual time) and then calls `after_slice(k, p, ran)`
with the task that ran and the virtual nanoseconds its slice took.  `after_slice` leaves
the task to run next at the head of the queue.  Tasks join the queue at its tail (fork,
clone, a wake-up: `Kernel.wake`) and leave it when they block or exit.

ukern schedules round robin: the task that ran goes to the tail.  `nice` (setpriority) is
kept for getpriority and /proc but does not change anyone's share.

`by_nice` is the fair-share alternative that the sched lab asks for (labs/sched/README.md),
installed only while that lab is graded on the reference: each task's *virtual runtime*
grows by the time it ran, scaled down by its weight (1024 at nice 0, 1.25 times less per
nice level above, more below, so each level is about a tenth of the CPU); the runnable task
with the least virtual runtime runs next.  A task that joins the queue (new, or back from
a sleep) starts level with the least virtual runtime in the queue, not behind it: it gets
its share from now on, not a burst to catch up on the time it did not want.
"""

from .process import State

NICE_0_WEIGHT = 1024          # the weight of a task at nice 0
NICE_STEP = 1.25              # each nice level is 1.25 times the weight of the next


def round_robin(k, p, ran: int) -> None:
    """ukern's own policy: the task that ran goes to the tail of the queue."""
    queue = k.runqueue
    if p.state is State.RUNNABLE and len(queue) > 1 and queue[0] is p:
        queue.append(queue.pop(0))


after_slice = round_robin         # what the kernel calls (the sched lab rebinds it)


def nice_weight(nice: int) -> int:
    """A task's weight: NICE_0_WEIGHT at nice 0, NICE_STEP times less per level above."""
    return max(1, round(NICE_0_WEIGHT / NICE_STEP ** nice))


def by_nice(k, p, ran: int) -> None:
    """Fair share by nice: charge the slice to p's virtual runtime, then put the runnable
    task with the least virtual runtime (the first in queue order among equals) at the head."""
    if ran > 0:
        p.vruntime += ran * NICE_0_WEIGHT // nice_weight(p.options.nice)
    queue = k.runqueue
    if not queue:
        return
    for t in queue:                 # newcomers and sleepers start level with the others
        if t.vruntime < k.min_vruntime:
            t.vruntime = k.min_vruntime
    head = min(queue, key=_vruntime)
    k.min_vruntime = head.vruntime
    if queue[0] is not head:
        queue.remove(head)
        queue.insert(0, head)


def _vruntime(t) -> int:
    return t.vruntime
