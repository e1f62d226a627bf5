"""What one process holds of System V IPC: the segments it has attached and the semaphore
adjustments to undo when it exits.  Every process has one (its `sysv` field, shared by its
threads); fork, exec and exit pass it on or let go of it.

This is apart from ids.py so that making a process loads no IPC code: most never use it,
and then fork, exec and exit do not load the ipc modules either.
"""

from dataclasses import dataclass, field


@dataclass
class ProcessIpc:
    """What one process holds: attached segments (shm.py) and semaphore adjustments to
    undo at its exit (sem.py, SEM_UNDO)."""
    attached: list = field(default_factory=list)     # shm.Attachment
    undo: dict = field(default_factory=dict)         # (semid, semnum) -> adjustment

    # Most processes hold nothing: then the ipc modules are not even loaded.
    def fork(self, k, parent, child) -> None:
        if self.attached:
            from . import shm
            shm.inherit(k, self, child)  # attachments are inherited; undo lists are not (the
                                         # child starts with a ProcessIpc of its own)

    def exec(self, k, p) -> None:
        if self.attached:
            from . import shm
            shm.detach_all(k, p)         # the old image goes, and its attachments with it

    def exit(self, k, p) -> None:
        if self.undo:
            from . import sem
            sem.undo_all(k, p)
        if self.attached:
            from . import shm
            shm.detach_all(k, p)
