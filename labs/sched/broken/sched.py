"""A deliberately broken solution of lab sched, for the grader's own test (tests/test_labs_new.py).

The one mistake: a task that joins the queue keeps the virtual runtime it had (0 for a new
task), so a newcomer -- or a task back from a long sleep -- runs alone until it has caught
up with everyone else.
"""

NICE_0_WEIGHT = 1024
NICE_STEP = 1.25


def nice_weight(nice: int) -> int:
    return max(1, round(NICE_0_WEIGHT / NICE_STEP ** nice))


def after_slice(k, p, ran: int) -> None:
    if ran > 0:
        p.vruntime += ran * NICE_0_WEIGHT // nice_weight(p.options.nice)
    queue = k.runqueue
    if not queue:
        return
    head = min(queue, key=lambda t: t.vruntime)       # THE MISTAKE: no floor for newcomers
    if queue[0] is not head:
        queue.remove(head)
        queue.insert(0, head)
