"""System V IPC system calls: shared memory, semaphores, message queues (kernel/ipc/).

The handlers turn the registers into the arguments' C types (int ids, long types and
sizes) and call the ipc modules, which do the work; semop, semtimedop, msgsnd and
msgrcv may wait, so they are generators.  Each imports its ipc module when first called:
most programs never use System V IPC, and a run need not load it.
"""

import struct

from ..errno import Errno
from .args import s32, s64


# -- shared memory ------------------------------------------------------------------------------
def sys_shmget(k, p, key: int, size: int, flags: int) -> int:
    from ..ipc import shm
    return shm.shmget(k, p, s32(key), size, s32(flags))


def sys_shmat(k, p, shmid: int, addr: int, flags: int) -> int:
    from ..ipc import shm
    return shm.shmat(k, p, s32(shmid), addr, s32(flags))


def sys_shmdt(k, p, addr: int) -> int:
    from ..ipc import shm
    return shm.shmdt(k, p, addr)


def sys_shmctl(k, p, shmid: int, cmd: int, buf: int) -> int:
    from ..ipc import shm
    return shm.shmctl(k, p, s32(shmid), s32(cmd), buf)


# -- semaphores -----------------------------------------------------------------------------------
def sys_semget(k, p, key: int, nsems: int, flags: int) -> int:
    from ..ipc import sem
    if s32(nsems) < 0:
        return -Errno.EINVAL
    return sem.semget(k, p, s32(key), nsems, s32(flags))


def sys_semop(k, p, semid: int, sops: int, nsops: int):
    from ..ipc import sem
    return (yield from sem.semop(k, p, s32(semid), sops, nsops, None))


def sys_semtimedop(k, p, semid: int, sops: int, nsops: int, timeout: int):
    from ..ipc import sem
    timeout_ns = None
    if timeout:
        sec, nsec = struct.unpack('<qq', k.user(p).read(timeout, 16))
        if sec < 0 or not 0 <= nsec < 10**9:
            return -Errno.EINVAL
        timeout_ns = sec * 10**9 + nsec
    return (yield from sem.semop(k, p, s32(semid), sops, nsops, timeout_ns))


def sys_semctl(k, p, semid: int, semnum: int, cmd: int, arg: int) -> int:
    from ..ipc import sem
    return sem.semctl(k, p, s32(semid), s32(semnum), s32(cmd), arg)


# -- message queues -------------------------------------------------------------------------------
def sys_msgget(k, p, key: int, flags: int) -> int:
    from ..ipc import msg
    return msg.msgget(k, p, s32(key), s32(flags))


def sys_msgsnd(k, p, msqid: int, msgp: int, msgsz: int, flags: int):
    from ..ipc import msg
    if s64(msgsz) < 0:
        return -Errno.EINVAL
    return (yield from msg.msgsnd(k, p, s32(msqid), msgp, msgsz, s32(flags)))


def sys_msgrcv(k, p, msqid: int, msgp: int, msgsz: int, msgtyp: int, flags: int):
    from ..ipc import msg
    return (yield from msg.msgrcv(k, p, s32(msqid), msgp, s64(msgsz), s64(msgtyp), s32(flags)))


def sys_msgctl(k, p, msqid: int, cmd: int, buf: int) -> int:
    from ..ipc import msg
    return msg.msgctl(k, p, s32(msqid), s32(cmd), buf)
