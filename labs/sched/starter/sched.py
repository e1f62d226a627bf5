"""Lab sched: a fair-share scheduler by nice.  `ukern lab start sched` copied this file to
labs/sched/student/sched.py; while the lab is active

    kernel.proc.sched.after_slice   is  after_slice(k, p, ran) below
    kernel.proc.sched.nice_weight   is  nice_weight(nice) below

Today the scheduler is round robin: `nice` (setpriority, the shell's `nice`) is recorded
but every runnable task gets the same share of the CPU.  Make each task's share follow
its weight.  Read labs/sched/README.md first.
"""

from kernel.proc.process import State

NICE_0_WEIGHT = 1024          # the weight of a task at nice 0
NICE_STEP = 1.25              # each nice level is 1.25 times the weight of the next


def nice_weight(nice: int) -> int:
    """A task's weight for its nice value (-20 .. 19): NICE_0_WEIGHT at nice 0, NICE_STEP
    times less for each level above 0 and NICE_STEP times more for each level below,
    rounded to an integer (at least 1)."""
    # TODO
    return NICE_0_WEIGHT


def after_slice(k, p, ran: int) -> None:
    """Task p has just run for `ran` nanoseconds of virtual time (it may have blocked or
    exited meanwhile: then it is no longer in k.runqueue).  Leave the task that should
    run next at the head of k.runqueue."""
    # TODO: charge the slice to p's virtual runtime (p.vruntime) scaled by its weight
    # (p.options.nice), and put the runnable task with the least virtual runtime at the head
    # of the queue.  A task that joins the queue (fork, a wake-up: always at the tail) must
    # not get a burst of CPU for the time it was not there: start it level with the least
    # virtual runtime of the queue (k.min_vruntime is yours to keep that in).
    queue = k.runqueue
    if p.state is State.RUNNABLE and len(queue) > 1 and queue[0] is p:
        queue.append(queue.pop(0))       # round robin: the task that ran goes to the tail
