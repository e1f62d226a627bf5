"""ukern's capability calls (userland/include/ukern.h): guests hold capabilities in their
c-list and name them by slot.

  ukern_cap_call(slot, msg)          invoke: msg->w[0] is the operation, w[1..] arguments;
                                     the result comes back in msg->w[0] (one copy each way)
  ukern_cap_map(slot, addr, prot)    map a page object at a page-aligned address
  ukern_cap_drop(slot)               empty a slot
  ukern_objsync()                    a checkpoint of every object; returns once it is
                                     committed (kernel/obj/checkpoint.py)

Operations: on the space bank ALLOC_PAGE, ALLOC_NODE (a new capability in a free slot:
its number is the result), DESTROY(slot), QUOTA; on a node GET(index) and SET(index,
slot); on any capability RESTRICT(rights) (a copy with fewer rights, in a new slot).
"""

import enum
import struct

from ..errno import Errno
from ..mm.frames import PAGE_SIZE
from ..mm.pagetable import USER_TOP
from ..mm.vm import Region, Kind, Prot
from ..obj.layout import CapType, ObjectKind, Rights
from ..obj import ipc, server
from ..obj.objects import Cap

MSG = struct.Struct('<8q')


class Op(enum.IntEnum):
    ALLOC_PAGE = 1
    ALLOC_NODE = 2
    DESTROY = 3
    QUOTA = 4
    NODE_GET = 10
    NODE_SET = 11
    RESTRICT = 20
    # the object server's (kernel/obj/server.py)
    FRAME_ALLOC = server.FRAME_ALLOC
    DISK_READ = server.DISK_READ
    DISK_WRITE = server.DISK_WRITE
    LOADED = server.OBJ_LOADED
    STORED = server.OBJ_STORED
    WAIT = 60
    # endpoints between processes (kernel/obj/ipc.py)
    ALLOC_ENDPOINT = 5
    CALL = 70
    RECEIVE = 71
    REPLY = 72


# Operations that may dirty an object (a node, the maps): they wait for room in the log.
CHANGES_OBJECTS = (Op.ALLOC_PAGE, Op.ALLOC_NODE, Op.DESTROY, Op.NODE_SET)


def _cap(p, slot: int) -> Cap | None:
    return p.caps[slot] if 0 <= slot < len(p.caps) else None


def _install(p, cap: Cap) -> int:
    for slot, held in enumerate(p.caps):
        if held is None:
            p.caps[slot] = cap
            return slot
    return -Errno.EMFILE


def _serve(k, p, cap: Cap, op: int, words: list[int], msg_addr: int):
    """The object server's operations on its endpoint, frame, disk and kernel capabilities
    (a generator: waiting, frame allocation and DMA block the server)."""
    link = k.objects.link
    if link is None or p is not link.server:
        return -Errno.EPERM
    args = words[1:]
    if cap.type == CapType.ENDPOINT and op == Op.WAIT:
        return (yield from link.wait(p, msg_addr))
    if cap.type == CapType.FRAME and op == Op.FRAME_ALLOC:
        return (yield from link.alloc_frame(p, words))
    if cap.type == CapType.DISK and op in (Op.DISK_READ, Op.DISK_WRITE):
        return (yield from link.disk_io(p, args[0], args[1], args[2], op == Op.DISK_WRITE))
    if cap.type == CapType.PROCESS and op == Op.LOADED:
        return link.loaded(p, args[0], args[1])
    if cap.type == CapType.PROCESS and op == Op.STORED:
        return link.stored(p, args[0], args[1])
    return -Errno.EINVAL


SERVER_CAPS = (CapType.ENDPOINT, CapType.FRAME, CapType.DISK, CapType.PROCESS)


def _endpoint(k, p, cap: Cap, op: int, msg_addr: int):
    """An endpoint between processes: call, receive, reply (one copy per message)."""
    ep = k.objects.endpoints.get(cap.oid)
    if ep is None:
        return -Errno.EBADF
    if op == Op.CALL:
        return (yield from ipc.call(k, p, ep, msg_addr, _install))
    if op == Op.RECEIVE:
        return (yield from ipc.wait(k, p, ep, msg_addr, _install))
    return ipc.reply(k, p, msg_addr, _install)


def _invoke(k, p, cap: Cap, op: int, args: list[int]) -> int:
    objects = k.objects
    if op == Op.ALLOC_ENDPOINT:
        if cap.type != CapType.SPACE_BANK:
            return -Errno.EINVAL
        return _install(p, Cap(CapType.ENDPOINT, objects.new_endpoint()))
    if op in (Op.ALLOC_PAGE, Op.ALLOC_NODE, Op.DESTROY, Op.QUOTA):
        if cap.type != CapType.SPACE_BANK:
            return -Errno.EINVAL
        if op == Op.QUOTA:
            return objects.quota - objects.allocated
        if op == Op.DESTROY:
            target = _cap(p, args[0])
            if target is None:
                return -Errno.EBADF
            result = objects.destroy(target)
            if result == 0:
                p.caps[args[0]] = None
            return result
        new = objects.allocate(ObjectKind.PAGE if op == Op.ALLOC_PAGE else ObjectKind.NODE)
        return new if isinstance(new, int) else _install(p, new)
    if op == Op.NODE_GET:
        got = objects.node_get(cap, args[0])
        return got if isinstance(got, int) else _install(p, got)
    if op == Op.NODE_SET:
        value = _cap(p, args[1]) if args[1] >= 0 else None
        if args[1] >= 0 and value is None:
            return -Errno.EBADF
        return objects.node_set(cap, args[0], value)
    if op == Op.RESTRICT:
        return _install(p, Cap(cap.type, cap.oid, cap.version, cap.rights | Rights(args[0] & 3)))
    return -Errno.EINVAL


def sys_cap_call(k, p, slot: int, msg_addr: int):
    if k.objects is None:
        return -Errno.ENOSYS
    cap = _cap(p, slot)
    if cap is None:
        return -Errno.EBADF
    words = list(MSG.unpack(k.user(p).read(msg_addr, MSG.size)))
    if cap.type == CapType.ENDPOINT and cap.oid and words[0] in (Op.CALL, Op.RECEIVE, Op.REPLY):
        return (yield from _endpoint(k, p, cap, words[0], msg_addr))
    if cap.type in SERVER_CAPS:
        result = yield from _serve(k, p, cap, words[0], words, msg_addr)
        if words[0] == Op.WAIT:
            return result                       # the message itself was written by wait()
    else:
        if cap.type in (CapType.SPACE_BANK, CapType.NODE) and words[0] in CHANGES_OBJECTS:
            yield from k.objects.make_room()
        result = _invoke(k, p, cap, words[0], words[1:])
    words[0] = result
    k.user(p).write(msg_addr, MSG.pack(*words))
    return result


def sys_cap_map(k, p, slot: int, addr: int, prot: int) -> int:
    cap = _cap(p, slot)
    if cap is None:
        return -Errno.EBADF
    if cap.type != CapType.PAGE or k.objects is None or not k.objects.current(cap):
        return -Errno.EINVAL
    if addr % PAGE_SIZE or not 0 < addr < USER_TOP - PAGE_SIZE or p.aspace.overlapping(addr, addr + PAGE_SIZE):
        return -Errno.EINVAL
    want = Prot(prot & 3) | Prot.READ
    if Prot.WRITE in want and not cap.writable:
        return -Errno.EACCES
    p.aspace.add(Region(addr, addr + PAGE_SIZE, want, Kind.OBJECT, f'[object {cap.oid:#x}]', obj=cap))
    return 0


def sys_cap_drop(k, p, slot: int) -> int:
    if _cap(p, slot) is None:
        return -Errno.EBADF
    p.caps[slot] = None
    return 0


def sys_objsync(k, p):
    if k.objects is None:
        return -Errno.ENOSYS
    return (yield from k.objects.sync())
