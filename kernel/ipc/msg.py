"""System V message queues: typed messages, sent and received whole (msgget, msgsnd,
msgrcv, msgctl).

A queue keeps its messages in the order sent and at most msg_qbytes bytes of text.
msgrcv picks by type: 0 the first message, a positive type the first of that type (or,
with MSG_EXCEPT, of any other), a negative one the first of the lowest type not above
its absolute value.  A sender finding the queue full, and a receiver finding nothing to
take, sleep on the queue's wait queue (or get EAGAIN / ENOMSG with IPC_NOWAIT); every
send, receive and IPC_RMID wakes them to look again, and IPC_RMID makes them EIDRM.
"""

import ctypes
import struct
from dataclasses import dataclass, field

from ..errno import Errno
from ..sys.time import wall_seconds
from ..proc.wait import WaitQueue
from .ids import IpcObject, IpcPerm, IPC_NOWAIT, IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO, IPC_64, \
    owns, may, space

MSG_STAT, MSG_INFO = 11, 12
MSG_NOERROR = 0o10000
MSG_EXCEPT = 0o20000
MSG_COPY = 0o40000
MSGMAX = 8192                    # the longest message
MSGMNB = 16384                   # a queue's default capacity in bytes
MTYPE = struct.Struct('<q')      # struct msgbuf starts with a long mtype


class MsqidDs(ctypes.LittleEndianStructure):
    """struct msqid64_ds (include/uapi/asm-generic/msgbuf.h), x86-64."""
    _fields_ = [('msg_perm', IpcPerm), ('msg_stime', ctypes.c_int64), ('msg_rtime', ctypes.c_int64),
                ('msg_ctime', ctypes.c_int64), ('msg_cbytes', ctypes.c_uint64), ('msg_qnum', ctypes.c_uint64),
                ('msg_qbytes', ctypes.c_uint64), ('msg_lspid', ctypes.c_int32), ('msg_lrpid', ctypes.c_int32),
                ('_unused4', ctypes.c_uint64), ('_unused5', ctypes.c_uint64)]


assert ctypes.sizeof(MsqidDs) == 120


class Msginfo(ctypes.LittleEndianStructure):
    """struct msginfo (include/uapi/linux/msg.h): IPC_INFO's limits, MSG_INFO's usage."""
    _fields_ = [(name, ctypes.c_int32) for name in ('msgpool', 'msgmap', 'msgmax', 'msgmnb', 'msgmni',
                                                    'msgssz', 'msgtql')] + [('msgseg', ctypes.c_uint16)]


assert ctypes.sizeof(Msginfo) == 32


@dataclass(eq=False)
class MsgQueue(IpcObject):
    """A System V message queue: its messages and its msqid_ds fields."""
    messages: list = field(default_factory=list)       # (mtype, text) in the order sent
    qbytes: int = MSGMNB
    lspid: int = 0
    lrpid: int = 0
    stime: int = 0
    rtime: int = 0
    queue: WaitQueue = field(default_factory=lambda: WaitQueue('msgq', interruptible=True))

    @property
    def cbytes(self) -> int:
        return sum(len(text) for _, text in self.messages)


def msgget(k, p, key: int, flags: int) -> int:
    def make():
        q = MsgQueue(key, 0, 0, 0)
        q.ctime = wall_seconds(k.clock)
        return q
    return space(k).msg.lookup(p, key, flags, make)


def _queue(k, p, msqid: int, want: int):
    q = space(k).msg.get(msqid)
    if q is None:
        return -Errno.EINVAL
    return q if may(p, q, want) else -Errno.EACCES


# -- msgsnd -----------------------------------------------------------------------------------
def msgsnd(k, p, msqid: int, msgp: int, msgsz: int, flags: int):
    """A generator: waits while the queue has no room."""
    if msgsz > MSGMAX:
        return -Errno.EINVAL
    q = _queue(k, p, msqid, 2)
    if isinstance(q, int):
        return q
    mem = k.user(p)
    mtype = MTYPE.unpack(mem.read(msgp, MTYPE.size))[0]
    if mtype < 1:
        return -Errno.EINVAL
    text = mem.read(msgp + MTYPE.size, msgsz) if msgsz else b''
    while q.cbytes + msgsz > q.qbytes:
        if flags & IPC_NOWAIT:
            return -Errno.EAGAIN
        yield q.queue
        if q.removed:
            return -Errno.EIDRM
    q.messages.append((mtype, text))
    q.lspid, q.stime = p.pid, wall_seconds(k.clock)
    q.queue.wake_all(k.wake)
    return 0


# -- msgrcv -----------------------------------------------------------------------------------
def _pick(q: MsgQueue, msgtyp: int, flags: int) -> int | None:
    """The index of the message msgrcv takes, or None."""
    if msgtyp == 0:
        return 0 if q.messages else None
    if msgtyp > 0:
        want = (lambda t: t != msgtyp) if flags & MSG_EXCEPT else (lambda t: t == msgtyp)
        return next((i for i, (t, _) in enumerate(q.messages) if want(t)), None)
    best = None
    for i, (t, _) in enumerate(q.messages):
        if t <= -msgtyp and (best is None or t < q.messages[best][0]):
            best = i
    return best


def msgrcv(k, p, msqid: int, msgp: int, msgsz: int, msgtyp: int, flags: int):
    """A generator: waits until a message of the type asked for is there."""
    if msgsz < 0:
        return -Errno.EINVAL
    if flags & MSG_COPY:
        return -Errno.ENOSYS              # (checkpoint/restore's copy: not offered)
    q = _queue(k, p, msqid, 4)
    if isinstance(q, int):
        return q
    while True:
        i = _pick(q, msgtyp, flags)
        if i is not None:
            break
        if flags & IPC_NOWAIT:
            return -Errno.ENOMSG
        yield q.queue
        if q.removed:
            return -Errno.EIDRM
    mtype, text = q.messages[i]
    if len(text) > msgsz and not flags & MSG_NOERROR:
        return -Errno.E2BIG               # the message stays in the queue
    text = text[:msgsz]
    mem = k.user(p)
    mem.write(msgp, MTYPE.pack(mtype) + text)
    del q.messages[i]
    q.lrpid, q.rtime = p.pid, wall_seconds(k.clock)
    q.queue.wake_all(k.wake)              # room for a waiting sender
    return len(text)


# -- msgctl -----------------------------------------------------------------------------------
def msgctl(k, p, msqid: int, cmd: int, buf: int) -> int:
    cmd &= ~IPC_64
    table = space(k).msg
    if cmd in (IPC_INFO, MSG_INFO):
        return _info(k, p, table, cmd, buf)
    q = table.at_index(msqid) if cmd == MSG_STAT else table.get(msqid)
    if q is None:
        return -Errno.EINVAL
    if cmd in (IPC_STAT, MSG_STAT):
        if not may(p, q, 4):
            return -Errno.EACCES
        ds = MsqidDs(msg_perm=q.perm(), msg_stime=q.stime, msg_rtime=q.rtime, msg_ctime=q.ctime,
                     msg_cbytes=q.cbytes, msg_qnum=len(q.messages), msg_qbytes=q.qbytes,
                     msg_lspid=q.lspid, msg_lrpid=q.lrpid)
        k.user(p).write(buf, bytes(ds))
        return 0 if cmd == IPC_STAT else q.id
    if cmd == IPC_SET:
        ds = MsqidDs.from_buffer_copy(k.user(p).read(buf, ctypes.sizeof(MsqidDs)))
        if not owns(p, q):
            return -Errno.EPERM
        if ds.msg_qbytes > MSGMNB and p.creds.euid != 0:
            return -Errno.EPERM
        q.set_perm(ds.msg_perm)
        q.qbytes = ds.msg_qbytes
        q.ctime = wall_seconds(k.clock)
        q.queue.wake_all(k.wake)
        return 0
    if cmd == IPC_RMID:
        if not owns(p, q):
            return -Errno.EPERM
        table.remove(q)
        q.queue.wake_all(k.wake)
        return 0
    return -Errno.EINVAL


def _info(k, p, table, cmd: int, buf: int) -> int:
    """IPC_INFO: the limits; MSG_INFO: with msgpool, msgmap and msgtql saying what is in
    use (queues, messages, bytes).  Both return the highest slot."""
    info = Msginfo(msgpool=MSGMNB * table.limit // 1024, msgmap=MSGMNB, msgmax=MSGMAX, msgmnb=MSGMNB,
                   msgmni=table.limit, msgssz=16, msgtql=MSGMNB, msgseg=0xFFFF)
    if cmd == MSG_INFO:
        queues = list(table.by_id.values())
        info.msgpool = len(queues)
        info.msgmap = sum(len(q.messages) for q in queues)
        info.msgtql = sum(q.cbytes for q in queues)
    k.user(p).write(buf, bytes(info))
    return table.highest_index()
