"""The part the three kinds of System V IPC object share: keys, ids, owners and modes
(struct ipc64_perm), the table that finds an object by key (IPC_CREAT, IPC_EXCL,
IPC_PRIVATE) or by id, and what each process holds.

An id is slot + SEQ_MULTIPLIER * sequence, as Linux makes it, so an id of a removed
object does not name the next object put in the same slot.
"""

import ctypes
from dataclasses import dataclass

from ..errno import Errno

IPC_PRIVATE = 0
IPC_CREAT = 0o1000
IPC_EXCL = 0o2000
IPC_NOWAIT = 0o4000
IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO = 0, 1, 2, 3
IPC_64 = 0x100                  # libcs add it to a ctl command: the 64-bit layouts, the only ones here
SEQ_MULTIPLIER = 32768
MODE_BITS = 0o777


class IpcPerm(ctypes.LittleEndianStructure):
    """struct ipc64_perm (include/uapi/asm-generic/ipcbuf.h), x86-64."""
    _fields_ = [('key', ctypes.c_int32), ('uid', ctypes.c_uint32), ('gid', ctypes.c_uint32),
                ('cuid', ctypes.c_uint32), ('cgid', ctypes.c_uint32), ('mode', ctypes.c_uint32),
                ('seq', ctypes.c_uint16), ('_pad2', ctypes.c_uint16),
                ('_unused1', ctypes.c_uint64), ('_unused2', ctypes.c_uint64)]


assert ctypes.sizeof(IpcPerm) == 48


@dataclass(eq=False)
class IpcObject:
    """What every IPC object has: its key, id and owner."""
    key: int
    mode: int
    uid: int
    gid: int
    cuid: int = 0
    cgid: int = 0
    id: int = -1
    seq: int = 0
    removed: bool = False
    ctime: int = 0               # seconds (virtual wall time) of the last change

    def perm(self) -> IpcPerm:
        return IpcPerm(key=self.key, uid=self.uid, gid=self.gid, cuid=self.cuid, cgid=self.cgid,
                       mode=self.mode, seq=self.seq)

    def set_perm(self, perm: IpcPerm) -> None:
        """IPC_SET: the owner and the permission bits."""
        self.uid, self.gid = perm.uid, perm.gid
        self.mode = (self.mode & ~MODE_BITS) | (perm.mode & MODE_BITS)


def may(p, obj: IpcObject, want: int) -> bool:
    """Does p have `want` (4 read, 2 write) on obj?  Root may do anything."""
    c = p.creds
    if c.euid == 0:
        return True
    if c.euid in (obj.uid, obj.cuid):
        bits = obj.mode >> 6
    elif c.egid in (obj.gid, obj.cgid) or obj.gid in c.groups:
        bits = obj.mode >> 3
    else:
        bits = obj.mode
    return bits & want == want


def owns(p, obj: IpcObject) -> bool:
    """May p remove or change obj (IPC_RMID, IPC_SET)?"""
    return p.creds.euid in (0, obj.uid, obj.cuid)


class IpcTable:
    """One kind's objects, by key and by id."""

    def __init__(self, limit: int):
        self.limit = limit               # SHMMNI, SEMMNI, MSGMNI
        self.by_id: dict[int, IpcObject] = {}
        self._seq = [0] * limit

    def find_key(self, key: int) -> IpcObject | None:
        if key == IPC_PRIVATE:
            return None
        return next((o for o in self.by_id.values() if o.key == key and not o.removed), None)

    def get(self, ident: int) -> IpcObject | None:
        obj = self.by_id.get(ident)
        return obj if obj is not None and not obj.removed else None

    def at_index(self, index: int) -> IpcObject | None:
        """The object in slot `index` (the *_STAT commands name objects by slot)."""
        return next((o for i, o in self.by_id.items() if i % SEQ_MULTIPLIER == index), None)

    def highest_index(self) -> int:
        """What the *_INFO commands return: the highest slot in use (0 if none)."""
        return max((i % SEQ_MULTIPLIER for i in self.by_id), default=0)

    def lookup(self, p, key: int, flags: int, make, check=None) -> int:
        """The get call (shmget, semget, msgget): an existing object's id, or a new one made
        by make(), or a negative errno.  check(obj) vets an existing object (sizes)."""
        obj = self.find_key(key)
        if obj is not None:
            if flags & IPC_CREAT and flags & IPC_EXCL:
                return -Errno.EEXIST
            error = check(obj) if check else 0
            if error:
                return error
            want = (flags >> 6) & 6          # the access asked for, as mode bits
            return obj.id if may(p, obj, want) else -Errno.EACCES
        if key != IPC_PRIVATE and not flags & IPC_CREAT:
            return -Errno.ENOENT
        slot = self._free_slot()
        if slot is None:
            return -Errno.ENOSPC
        obj = make()
        if isinstance(obj, int):
            return obj
        obj.key, obj.mode = key, flags & MODE_BITS
        obj.uid = obj.cuid = p.creds.euid
        obj.gid = obj.cgid = p.creds.egid
        obj.seq = self._seq[slot]
        obj.id = slot + SEQ_MULTIPLIER * obj.seq
        self.by_id[obj.id] = obj
        return obj.id

    def _free_slot(self) -> int | None:
        used = {i % SEQ_MULTIPLIER for i in self.by_id}
        return next((s for s in range(self.limit) if s not in used), None)

    def remove(self, obj: IpcObject) -> None:
        """Forget obj: its key finds nothing from now on, its slot takes a new sequence."""
        obj.removed = True
        self.by_id.pop(obj.id, None)
        slot = obj.id % SEQ_MULTIPLIER
        self._seq[slot] = (self._seq[slot] + 1) % (1 << 16)


class Space:
    """The machine's IPC objects (one namespace)."""
    SHMMNI, SEMMNI, MSGMNI = 4096, 32000, 32000

    def __init__(self):
        self.shm = IpcTable(self.SHMMNI)
        self.sem = IpcTable(self.SEMMNI)
        self.msg = IpcTable(self.MSGMNI)


def space(k) -> Space:
    """The kernel's IPC namespace, made at first use."""
    s = getattr(k, 'sysv_ipc', None)
    if s is None:
        s = k.sysv_ipc = Space()
    return s
