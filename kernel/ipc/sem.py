"""System V semaphores: sets of counters that semop changes atomically (semget, semop,
semtimedop, semctl).

semop applies all of its operations or none.  When one cannot go ahead (a decrement
below zero, or a wait-for-zero on a non-zero value) the caller sleeps on the set's wait
queue, counted in semncnt or semzcnt, and tries the whole list again when any value of
the set changes; IPC_NOWAIT makes it EAGAIN instead, a timeout (semtimedop) EAGAIN when
it passes, IPC_RMID EIDRM, and a signal EINTR.  With SEM_UNDO, each change is recorded
in the process's undo list (held.ProcessIpc) and reversed when the process exits.
"""

import ctypes
import struct
from dataclasses import dataclass, field

from ..errno import Errno
from ..sys.time import wall_seconds
from ..proc.wait import WaitQueue
from .ids import IpcObject, IpcPerm, IPC_NOWAIT, IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO, IPC_64, \
    owns, may, space

GETPID, GETVAL, GETALL, GETNCNT, GETZCNT, SETVAL, SETALL, SEM_STAT, SEM_INFO = range(11, 20)
SEM_UNDO = 0x1000
SEMMSL = 32000                   # semaphores in a set
SEMOPM = 500                     # operations in one semop
SEMVMX = 32767                   # the largest value
SEMMNS = SEMMSL * 32000          # semaphores in all


class SemidDs(ctypes.LittleEndianStructure):
    """struct semid64_ds (arch/x86/include/uapi/asm/sembuf.h), x86-64."""
    _fields_ = [('sem_perm', IpcPerm), ('sem_otime', ctypes.c_int64), ('_unused1', ctypes.c_uint64),
                ('sem_ctime', ctypes.c_int64), ('_unused2', ctypes.c_uint64), ('sem_nsems', ctypes.c_uint64),
                ('_unused3', ctypes.c_uint64), ('_unused4', ctypes.c_uint64)]


assert ctypes.sizeof(SemidDs) == 104


class Sembuf(ctypes.LittleEndianStructure):
    """struct sembuf (include/uapi/linux/sem.h): one operation of a semop."""
    _fields_ = [('sem_num', ctypes.c_uint16), ('sem_op', ctypes.c_int16), ('sem_flg', ctypes.c_int16)]


assert ctypes.sizeof(Sembuf) == 6


class Seminfo(ctypes.LittleEndianStructure):
    """struct seminfo (include/uapi/linux/sem.h): IPC_INFO's limits, SEM_INFO's usage."""
    _fields_ = [(name, ctypes.c_int32) for name in ('semmap', 'semmni', 'semmns', 'semmnu', 'semmsl',
                                                    'semopm', 'semume', 'semusz', 'semvmx', 'semaem')]


assert ctypes.sizeof(Seminfo) == 40


@dataclass(eq=False)
class SemSet(IpcObject):
    """A System V semaphore set: its values and the processes waiting on them."""
    values: list = field(default_factory=list)
    pids: list = field(default_factory=list)          # sempid: the last to change each
    waiting: list = field(default_factory=list)       # (process, semnum, 'n' or 'z') of sleepers
    otime: int = 0
    queue: WaitQueue = field(default_factory=lambda: WaitQueue('semop', interruptible=True))

    def count(self, num: int, kind: str) -> int:
        return sum(1 for _, n, w in self.waiting if n == num and w == kind)


def _changed(k, s: SemSet) -> None:
    """A value changed: every sleeper tries its operations again."""
    s.queue.wake_all(k.wake)


# -- semget ------------------------------------------------------------------------------------
def semget(k, p, key: int, nsems: int, flags: int) -> int:
    nsems &= 0xFFFF_FFFF

    def make():
        if not 0 < nsems <= SEMMSL:
            return -Errno.EINVAL
        s = SemSet(key, 0, 0, 0, values=[0] * nsems, pids=[0] * nsems)
        s.ctime = wall_seconds(k.clock)
        return s

    def check(s):
        return -Errno.EINVAL if nsems > len(s.values) else 0
    return space(k).sem.lookup(p, key, flags, make, check)


# -- semop ---------------------------------------------------------------------------------------
def semop(k, p, semid: int, sops: int, nsops: int, timeout_ns: int | None):
    """A generator: waits until the operations can all be done, then does them."""
    if nsops == 0 or nsops > SEMOPM:
        return -Errno.EINVAL if nsops == 0 else -Errno.E2BIG
    data = k.user(p).read(sops, ctypes.sizeof(Sembuf) * nsops)
    ops = [(b.sem_num, b.sem_op, b.sem_flg) for b in (Sembuf * nsops).from_buffer_copy(data)]
    s = space(k).sem.get(semid)
    if s is None:
        return -Errno.EINVAL
    if any(num >= len(s.values) for num, _, _ in ops):
        return -Errno.EFBIG
    if not may(p, s, 6 if any(op for _, op, _ in ops) else 4):
        return -Errno.EACCES
    deadline = None if timeout_ns is None else k.clock.after(timeout_ns)
    while True:
        if s.removed:
            return -Errno.EIDRM
        blocked = _try(k, p, s, ops)
        if blocked is None:
            return 0
        if isinstance(blocked, int):
            return blocked
        num, kind, flags = blocked
        if flags & IPC_NOWAIT:
            return -Errno.EAGAIN
        if deadline is not None and k.clock.now >= deadline:
            return -Errno.EAGAIN
        entry = (p, num, kind)
        s.waiting.append(entry)
        timer = wake_at(k, p, s.queue, deadline) if deadline is not None else None
        try:
            yield s.queue
        finally:
            s.waiting.remove(entry)
            if timer is not None:
                k.clock.cancel(timer)


def wake_at(k, p, queue: WaitQueue, when: int) -> int:
    """A timeout: take p off the queue and wake it if it still waits then (its call sees
    the time has passed).  Returns the timer, for cancelling."""
    def expire():
        if p.waiting_on is queue:
            queue.discard(p)
            k.wake(p)
    return k.clock.schedule(when, expire)


def _try(k, p, s: SemSet, ops):
    """Do all the operations, or none: None when done, (semnum, 'n'/'z', flags) for the
    first that must wait, or a negative errno."""
    values = list(s.values)
    for num, op, flags in ops:
        if op < 0 and values[num] + op < 0:
            return num, 'n', flags
        if op == 0 and values[num] != 0:
            return num, 'z', flags
        if values[num] + op > SEMVMX:
            return -Errno.ERANGE
        values[num] += op
    undo = p.sysv.undo
    for num, op, flags in ops:
        if op and flags & SEM_UNDO:
            undo[(s.id, num)] = undo.get((s.id, num), 0) - op
        s.pids[num] = p.pid
    s.values = values
    s.otime = wall_seconds(k.clock)
    if any(op for _, op, _ in ops):
        _changed(k, s)
    return None


def undo_all(k, p) -> None:
    """exit: reverse what this process's SEM_UNDO operations did (clamped as Linux does)."""
    table = space(k).sem
    for (semid, num), adj in p.sysv.undo.items():
        s = table.get(semid)
        if s is None or not adj or num >= len(s.values):
            continue
        s.values[num] = max(0, min(SEMVMX, s.values[num] + adj))
        s.pids[num] = p.pid
        _changed(k, s)
    p.sysv.undo.clear()


def _forget_undo(k, semid: int, num: int | None = None) -> None:
    """SETVAL and SETALL clear the adjustments every process holds for those values."""
    for q in k.procs.values():
        for key in [key for key in q.sysv.undo if key[0] == semid and (num is None or key[1] == num)]:
            del q.sysv.undo[key]


# -- semctl --------------------------------------------------------------------------------------
def semctl(k, p, semid: int, num: int, cmd: int, arg: int) -> int:
    cmd &= ~IPC_64
    table = space(k).sem
    if cmd in (IPC_INFO, SEM_INFO):
        return _info(k, p, table, cmd, arg)
    s = table.at_index(semid) if cmd == SEM_STAT else table.get(semid)
    if s is None:
        return -Errno.EINVAL
    mem = k.user(p)
    n = len(s.values)
    if cmd in (GETVAL, GETPID, GETNCNT, GETZCNT, SETVAL) and not 0 <= num < n:
        return -Errno.EINVAL
    if cmd == IPC_RMID:
        if not owns(p, s):
            return -Errno.EPERM
        table.remove(s)
        _forget_undo(k, semid)
        _changed(k, s)                    # the sleepers find it gone: EIDRM
        return 0
    if cmd == IPC_SET:
        ds = SemidDs.from_buffer_copy(mem.read(arg, ctypes.sizeof(SemidDs)))
        if not owns(p, s):
            return -Errno.EPERM
        s.set_perm(ds.sem_perm)
        s.ctime = wall_seconds(k.clock)
        return 0
    writing = cmd in (SETVAL, SETALL)
    if not may(p, s, 2 if writing else 4):
        return -Errno.EACCES
    if cmd in (IPC_STAT, SEM_STAT):
        ds = SemidDs(sem_perm=s.perm(), sem_otime=s.otime, sem_ctime=s.ctime, sem_nsems=n)
        mem.write(arg, bytes(ds))
        return 0 if cmd == IPC_STAT else s.id
    if cmd == GETVAL:
        return s.values[num]
    if cmd == GETPID:
        return s.pids[num]
    if cmd == GETNCNT:
        return s.count(num, 'n')
    if cmd == GETZCNT:
        return s.count(num, 'z')
    if cmd == GETALL:
        mem.write(arg, struct.pack(f'<{n}H', *s.values))
        return 0
    if cmd == SETVAL:
        value = arg & 0xFFFF_FFFF              # the union semun arrives as its int member
        value = value - (1 << 32) if value & 0x8000_0000 else value
        if not 0 <= value <= SEMVMX:
            return -Errno.ERANGE
        s.values[num], s.pids[num] = value, p.pid
    elif cmd == SETALL:
        values = list(struct.unpack(f'<{n}H', mem.read(arg, 2 * n)))
        if any(v > SEMVMX for v in values):
            return -Errno.ERANGE
        s.values, s.pids = values, [p.pid] * n
    else:
        return -Errno.EINVAL
    s.ctime = wall_seconds(k.clock)
    _forget_undo(k, semid, num if cmd == SETVAL else None)
    _changed(k, s)
    return 0


def _info(k, p, table, cmd: int, buf: int) -> int:
    """IPC_INFO: the limits; SEM_INFO: the same with semusz and semaem saying what is in
    use (sets and semaphores).  Both return the highest slot."""
    sets = list(table.by_id.values())
    info = Seminfo(semmap=SEMMNS, semmni=table.limit, semmns=SEMMNS, semmnu=SEMMNS, semmsl=SEMMSL,
                   semopm=SEMOPM, semume=SEMOPM, semusz=16, semvmx=SEMVMX, semaem=SEMVMX)
    if cmd == SEM_INFO:
        info.semusz, info.semaem = len(sets), sum(len(s.values) for s in sets)
    k.user(p).write(buf, bytes(info))
    return table.highest_index()
