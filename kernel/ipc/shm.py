"""System V shared memory: a segment is a list of frames that every process attaching it
maps (shmget, shmat, shmdt, shmctl).

A segment's frames are made on first touch, zeroed, and the segment keeps one reference
to each; every attachment is a shared region (Region.shm names the segment and the
segment page at the region's start), so fork shares the pages instead of copying them,
as for MAP_SHARED anonymous memory.  The fault handler (mm/fault.py) maps the
segment's frame.  IPC_RMID only marks a segment (SHM_DEST, its key forgotten): it is destroyed, and its
frames freed, when the last process detaches it (shmdt, exec, exit).  Segment pages are not swapped.
"""

import ctypes
from dataclasses import dataclass, field

from ..errno import Errno
from ..sys.time import wall_seconds
from ..mm.frames import PAGE_SIZE
from ..mm.pagetable import USER_TOP
from ..mm.vm import Region, Kind, Prot, page_up, page_down, ELF_MIN
from .ids import IpcObject, IpcPerm, IPC_RMID, IPC_SET, IPC_STAT, IPC_INFO, IPC_64, owns, may, space

SHM_RDONLY = 0o10000
SHM_RND = 0o20000
SHM_REMAP = 0o40000
SHM_EXEC = 0o100000
SHM_LOCK, SHM_UNLOCK, SHM_STAT, SHM_INFO = 11, 12, 13, 14
SHM_DEST = 0o1000               # shm_perm.mode: marked for destruction
SHMMIN = 1
SHMMAX = (1 << 63) - (1 << 24)  # Linux's default: no practical limit
SHMLBA = PAGE_SIZE


class ShmidDs(ctypes.LittleEndianStructure):
    """struct shmid64_ds (include/uapi/asm-generic/shmbuf.h), x86-64."""
    _fields_ = [('shm_perm', IpcPerm), ('shm_segsz', ctypes.c_uint64), ('shm_atime', ctypes.c_int64),
                ('shm_dtime', ctypes.c_int64), ('shm_ctime', ctypes.c_int64), ('shm_cpid', ctypes.c_int32),
                ('shm_lpid', ctypes.c_int32), ('shm_nattch', ctypes.c_uint64),
                ('_unused4', ctypes.c_uint64), ('_unused5', ctypes.c_uint64)]


assert ctypes.sizeof(ShmidDs) == 112


class Shminfo(ctypes.LittleEndianStructure):
    """struct shminfo64 (include/uapi/asm-generic/shmbuf.h): IPC_INFO's limits."""
    _fields_ = [(name, ctypes.c_uint64) for name in ('shmmax', 'shmmin', 'shmmni', 'shmseg', 'shmall',
                                                     '_unused1', '_unused2', '_unused3', '_unused4')]


assert ctypes.sizeof(Shminfo) == 72


class ShmInfo(ctypes.LittleEndianStructure):
    """struct shm_info (include/uapi/linux/shm.h): SHM_INFO's usage."""
    _fields_ = [('used_ids', ctypes.c_int32), ('shm_tot', ctypes.c_uint64), ('shm_rss', ctypes.c_uint64),
                ('shm_swp', ctypes.c_uint64), ('swap_attempts', ctypes.c_uint64),
                ('swap_successes', ctypes.c_uint64)]


assert ctypes.sizeof(ShmInfo) == 48
SHMALL = SHMMAX // PAGE_SIZE


@dataclass(eq=False)
class Segment(IpcObject):
    """A System V shared memory segment: its frames, allocated as they are touched."""
    size: int = 0
    frames: dict = field(default_factory=dict)      # page index -> frame, once touched
    nattch: int = 0
    cpid: int = 0
    lpid: int = 0
    atime: int = 0
    dtime: int = 0

    def frame(self, allocator, index: int) -> int:
        """The frame of page `index`, made (zeroed) at first use."""
        if index not in self.frames:
            self.frames[index] = allocator.alloc(zero=True)
        return self.frames[index]

    def free(self, allocator) -> None:
        for f in self.frames.values():
            allocator.release(f)
        self.frames = {}


@dataclass
class Attachment:
    """Where a process has a segment attached (shmat), so shmdt can find it."""
    addr: int
    segment: Segment


# -- shmget -----------------------------------------------------------------------------------
def shmget(k, p, key: int, size: int, flags: int) -> int:
    table = space(k).shm

    def make():
        if size < SHMMIN or size > SHMMAX:
            return -Errno.EINVAL
        seg = Segment(key, 0, 0, 0, size=size, cpid=p.pid)
        seg.ctime = wall_seconds(k.clock)
        return seg

    def check(seg):
        return -Errno.EINVAL if size > seg.size else 0
    return table.lookup(p, key, flags, make, check)


# -- shmat, shmdt -----------------------------------------------------------------------------
def shmat(k, p, shmid: int, addr: int, flags: int) -> int:
    seg = space(k).shm.get(shmid)
    if seg is None:
        return -Errno.EINVAL
    if addr % SHMLBA:
        if not flags & SHM_RND:
            return -Errno.EINVAL
        addr = page_down(addr)
    want = 4 if flags & SHM_RDONLY else 6
    if not may(p, seg, want):
        return -Errno.EACCES
    length = page_up(seg.size)
    a = p.aspace
    if addr:
        if addr < ELF_MIN or addr + length > USER_TOP:
            return -Errno.EINVAL
        if a.overlapping(addr, addr + length):
            if not flags & SHM_REMAP:
                return -Errno.EINVAL
            a.remove(addr, addr + length)
            k.flush_tlb(p)
    else:
        if flags & SHM_REMAP:
            return -Errno.EINVAL
        addr = a.free_gap(length)
        if addr is None:
            return -Errno.ENOMEM
    if not a.may_grow(length):
        return -Errno.ENOMEM
    prot = Prot.READ | (0 if flags & SHM_RDONLY else Prot.WRITE) | (Prot.EXEC if flags & SHM_EXEC else 0)
    a.add(Region(addr, addr + length, prot, Kind.ANON, f'[sysv shm {seg.id}]', shared=True,
                 shm=(seg, 0)))
    p.sysv.attached.append(Attachment(addr, seg))
    seg.nattch += 1
    seg.lpid, seg.atime = p.pid, wall_seconds(k.clock)
    return addr


def shmdt(k, p, addr: int) -> int:
    att = next((x for x in p.sysv.attached if x.addr == addr), None)
    if att is None:
        return -Errno.EINVAL
    a = p.aspace
    for r in list(a.regions):             # the attachment's regions (mprotect may have split it)
        if r.shm is not None and r.shm[0] is att.segment and r.start - r.shm[1] * PAGE_SIZE == addr:
            a.remove(r.start, r.end)
    k.flush_tlb(p)
    _detach(k, p, att)
    return 0


def _detach(k, p, att: Attachment) -> None:
    p.sysv.attached.remove(att)
    seg = att.segment
    seg.nattch -= 1
    seg.lpid, seg.dtime = p.pid, wall_seconds(k.clock)
    if seg.mode & SHM_DEST and seg.nattch == 0:
        _destroy(k, seg)


def _destroy(k, seg: Segment) -> None:
    space(k).shm.remove(seg)
    seg.free(k.frames)


def detach_all(k, p) -> None:
    """exec and exit: the address space goes away (its mappings with it); the
    attachments are counted off, and a removed segment attached nowhere is freed."""
    for att in list(p.sysv.attached):
        _detach(k, p, att)


def inherit(k, parent_ipc, child) -> None:
    """fork: the child is attached to everything its parent is (the regions were copied
    with the address space)."""
    for att in parent_ipc.attached:
        child.sysv.attached.append(Attachment(att.addr, att.segment))
        att.segment.nattch += 1


# -- shmctl -----------------------------------------------------------------------------------
def shmctl(k, p, shmid: int, cmd: int, buf: int) -> int:
    cmd &= ~IPC_64
    table = space(k).shm
    if cmd in (IPC_INFO, SHM_INFO):
        return _info(k, p, table, cmd, buf)
    seg = table.at_index(shmid) if cmd == SHM_STAT else table.get(shmid)
    if seg is None:
        return -Errno.EINVAL
    if cmd in (IPC_STAT, SHM_STAT):
        if not may(p, seg, 4):
            return -Errno.EACCES
        ds = ShmidDs(shm_perm=seg.perm(), shm_segsz=seg.size, shm_atime=seg.atime, shm_dtime=seg.dtime,
                     shm_ctime=seg.ctime, shm_cpid=seg.cpid, shm_lpid=seg.lpid, shm_nattch=seg.nattch)
        k.user(p).write(buf, bytes(ds))
        return 0 if cmd == IPC_STAT else seg.id
    if cmd == IPC_SET:
        ds = ShmidDs.from_buffer_copy(k.user(p).read(buf, ctypes.sizeof(ShmidDs)))
        if not owns(p, seg):
            return -Errno.EPERM
        seg.set_perm(ds.shm_perm)
        seg.ctime = wall_seconds(k.clock)
        return 0
    if cmd == IPC_RMID:
        if not owns(p, seg):
            return -Errno.EPERM
        seg.mode |= SHM_DEST              # its key finds nothing now; attachers keep it
        seg.key = 0
        if seg.nattch == 0:
            _destroy(k, seg)
        return 0
    if cmd in (SHM_LOCK, SHM_UNLOCK):
        return 0 if owns(p, seg) else -Errno.EPERM     # its pages are never swapped anyway
    return -Errno.EINVAL


def _info(k, p, table, cmd: int, buf: int) -> int:
    """IPC_INFO: the limits; SHM_INFO: what is in use.  Both return the highest slot."""
    if cmd == IPC_INFO:
        data = Shminfo(shmmax=SHMMAX, shmmin=SHMMIN, shmmni=table.limit, shmseg=table.limit, shmall=SHMALL)
    else:
        segs = list(table.by_id.values())
        data = ShmInfo(used_ids=len(segs), shm_tot=sum(page_up(s.size) // PAGE_SIZE for s in segs),
                       shm_rss=sum(len(s.frames) for s in segs))
    k.user(p).write(buf, bytes(data))
    return table.highest_index()
