"""The work of ukern's capability calls (kernel/sys/objsys.py has the handlers and what
each call takes): find the capability in the caller's c-list, get the store ready, and
invoke the object, the endpoint, the device or the object server it names.

Operations: on the space bank ALLOC_PAGE, ALLOC_NODE (a new capability in a free slot:
its number is the result), DESTROY(slot), QUOTA; on a node GET(index) and SET(index,
slot); on any capability RESTRICT(rights) (a copy with fewer rights, in a new slot).
The object server's operations are kernel/obj/server.py's, the device capabilities'
kernel/obj/devcap.py's.

The store's sectors move through the object server (kernel/obj/disk.py), so a call that
may read or write them first gets ready while it may still sleep: room in the checkpoint
log for what it may dirty, a node not in memory fetched, and frames set aside for the
writes an allocation makes (its fresh object goes home at once).
"""

import enum
import struct

from ..errno import Errno
from ..mm.frames import PAGE_SIZE
from ..mm.pagetable import USER_TOP
from ..mm.vm import Region, Kind, Prot
from . import devcap, ipc, server
from .disk import StoreIOError
from .layout import CapType, ObjectKind, Rights
from .objects import Cap

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
    LOADED = server.OBJ_LOADED
    STORED = server.OBJ_STORED
    DONE = server.OBJ_DONE
    READY = server.OBJ_READY
    WAIT = server.WAIT
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
    """The object server's operations (a generator: waiting and frame allocation block)."""
    link = getattr(k, 'object_link', None)
    if link is None:
        return -Errno.EPERM
    return (yield from link.serve(p, cap, op, words, msg_addr))


SERVER_CAPS = (CapType.ENDPOINT, CapType.FRAME, CapType.PROCESS)


def _prepare(k, p, cap: Cap, op: int, args: list[int]):
    """Before an operation on the store: fetch the node it reads (if not in memory) and
    set frames aside for the sectors it may write (kernel/obj/disk.py)."""
    objects = k.objects
    dev = objects.store.dev
    if not hasattr(dev, 'prefetch'):
        return 0                             # a host-side device: nothing to get ready
    fetch = op in (Op.NODE_GET, Op.NODE_SET) and cap.type == CapType.NODE and objects.current(cap) \
        and cap.oid not in objects.nodes
    writes = op in (Op.ALLOC_PAGE, Op.ALLOC_NODE, Op.DESTROY)
    if (fetch or writes) and objects.link is not None and not objects.link.running:
        return -Errno.EIO                    # only the object server reaches the store
    if fetch:
        entry, lba = objects.store.locate(cap.oid)
        try:
            yield from dev.prefetch(p, lba, entry.object_sectors)
        except StoreIOError:
            return -Errno.EIO
    if writes:
        yield from dev.fill_reserve(p)
    return 0


def _get_ready(k, p, cap: Cap, op: int, args: list[int]):
    """Before an operation: room in the checkpoint log for what it may dirty (it waits
    for a checkpoint if need be), and the store's sectors it reads or writes (_prepare).
    Both may sleep, so room is looked at again after the second."""
    changes = cap.type in (CapType.SPACE_BANK, CapType.NODE) and op in CHANGES_OBJECTS
    while True:
        if changes:
            result = yield from k.objects.make_room()
            if result != 0:
                return result
        result = yield from _prepare(k, p, cap, op, args)
        if result != 0 or not changes or k.objects.checkpoints.room_for(1):
            return result


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


def cap_call(k, p, slot: int, msg_addr: int):
    cap = _cap(p, slot)
    if cap is not None and cap.type in devcap.DEVICE_CAPS and k.store_controller is not None:
        words = list(MSG.unpack(k.user(p).read(msg_addr, MSG.size)))
        words[0] = yield from k.store_controller.invoke(p, cap, words[0], words)
        k.user(p).write(msg_addr, MSG.pack(*words))
        return words[0]
    if k.objects is None and (cap is None or cap.type not in SERVER_CAPS):
        return -Errno.ENOSYS
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
        result = yield from _get_ready(k, p, cap, words[0], words[1:])
        if result == 0:
            result = _invoke(k, p, cap, words[0], words[1:])
    words[0] = result
    k.user(p).write(msg_addr, MSG.pack(*words))
    return result


def cap_map(k, p, slot: int, addr: int, prot: int) -> int:
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


def cap_drop(k, p, slot: int) -> int:
    if _cap(p, slot) is None:
        return -Errno.EBADF
    p.caps[slot] = None
    return 0


def objsync(k, p):
    """A generator: returns once a checkpoint holding every change so far has committed
    (its writes go through the object server; kernel/obj/checkpoint.py)."""
    if k.objects is None:
        return -Errno.ENOSYS
    return (yield from k.objects.sync())
