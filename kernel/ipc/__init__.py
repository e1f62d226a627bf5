"""System V IPC: shared memory segments, semaphore sets and message queues.

Each kind of object lives in a table (ids.py) that finds it by key or by id; shm.py,
sem.py and msg.py hold the objects and what the system calls do to them, and
kernel/sys/sysv.py is the system calls' entry.  What a process holds (its attached
segments, its semaphore undo adjustments) is its `sysv` field (held.py: ProcessIpc),
which fork, exec and exit pass on or let go of.
"""
