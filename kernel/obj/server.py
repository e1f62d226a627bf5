"""The object server protocol (seed 001, "new, microkernel EROS").

The object store lives on a disk of its own, on the machine's second AHCI controller, and
the kernel never programs that controller: /sbin/objsrv, a ring-3 driver, holds it through
device capabilities (devcap.py) and moves every sector of the store -- pages, nodes and the
store's own metadata.  The kernel upcalls it with messages on its endpoint:

  LOAD(oid, lba, sectors)                a process touched page `oid`, not in memory.  The
        server invokes its frame capability (sensitive: only it holds one): the kernel
        clears a frame, marks it I/O-pinned and lends it to the controller, and discloses
        its physical address.  The server builds the command (header, FIS, PRDT pointing
        at that address) in its own pinned pages, sets PxCI, waits for the interrupt
        message, checks PxIS/PxTFD, and answers LOADED(oid, frame slot, status): the
        kernel takes the frame back, enters it in the object cache and wakes the waiters.
  STORE(oid, lba, sectors, slot, addr)   a page a checkpoint holds (checkpoint.py) goes to
        the sectors named -- its slot in the checkpoint log first, its home after the
        commit: the kernel says where, the server just writes.  The frame, pinned and lent
        while the disk reads it, is named by a FRAME capability and its address; the
        answer is STORED(oid, slot, status).
  READ / WRITE(tag, lba, sectors, slot, addr)   the store's own sectors (header, maps,
        nodes, the log's node and map entries, its directory and commit record:
        disk.py's ServerSectorDevice) in a kernel frame lent the same way; the answer is
        DONE(tag, slot, status).

LOADED pages are checked against the checksum the last checkpoint recorded: a damaged page
is refused, and whoever waited for it gets SIGBUS (mm/fault.py).

At start the server resets and probes the controller and says READY(sectors); only then does
the kernel open the store (disk.py).  Messages are served one at a time, in order, so a
read always sees every write queued before it, and a checkpoint's commit record, queued
after its log, reaches the disk after it (the disk runs one command at a time).

Why this cannot livelock (the seed's warning).  A process that faults on an object waits
for the server; if the server could itself wait for something that needs the server --
a fault on an object, a frame that only reclaim can free while reclaim waits for a
write-back the server must do -- nothing would move.  The rules that prevent it:
  1. The server runs from preloaded pages: devcap.grant faults in every page of its image,
     data and stack and pins them before it first runs, so it never takes a page fault,
     and it maps no objects.  Its command list, FIS area and command tables are in those
     pinned pages; it needs no memory it does not already hold.
  2. It runs in fixed resources: no malloc, no file I/O, a bounded c-list; each request
     holds at most one lent frame, given back by LOADED/STORED/DONE.  Checkpoints change
     nothing here: the kernel writes them as STOREs and WRITEs like any other.
  3. The only thing it may wait for besides a message or an interrupt is FRAME_ALLOC, and
     that wait ends without the server's help: reclaim drops clean pages (file cache,
     clean objects) and swaps anonymous ones to the kernel's own disk, which the kernel
     drives itself; when nothing is left to free, the out-of-memory killer ends the
     largest process -- never the server, which it spares -- and its frames end the wait.
  4. Kernel-issued store writes (allocation maps, fresh objects) take their frames from a
     reserve filled before the system call starts (disk.py), so an upcall is never stuck
     behind an allocation that needs the server.
So every upcall the server takes finishes in bounded time, and the faulters are served in
the order they asked (tests/test_objects.py: six faulters with memory short).
"""

import struct
from dataclasses import dataclass, field

from ..errno import Errno
from ..mm.frames import OutOfMemory
from ..proc.wait import WaitQueue
from .layout import CapType
from .objects import Cap
from . import devcap

# Upcall messages (w[0]) and the server's operations on its capabilities (ukern.h).
MSG_LOAD, MSG_STORE, MSG_READ, MSG_WRITE = 1, 2, 3, 4
FRAME_ALLOC = 30
OBJ_LOADED, OBJ_STORED, OBJ_DONE, OBJ_READY = 50, 51, 52, 53
WAIT = 60
# The server's c-list at start: where it finds its capabilities (ukern.h says the same).
SERVER_ENDPOINT, SERVER_FRAMES, SERVER_KERNEL = 0, 1, 3
FIRST_FRAME_SLOT = 8


@dataclass(eq=False)
class Load:
    """An object being loaded by the object server, and who waits for it."""
    oid: int
    waiters: WaitQueue = field(default_factory=lambda: WaitQueue('object load'))
    done: bool = False


@dataclass(eq=False)
class Transfer:
    """Sectors of the store moved for the kernel (disk.py), in one lent frame."""
    frame: int
    write: bool
    done: bool = False
    error: bool = False
    serial: int = 0                       # a write's place in disk.py's order
    waiters: WaitQueue = field(default_factory=lambda: WaitQueue('object store sectors'))


class Endpoint:
    """Where the server waits for upcalls: messages queue until it asks for the next."""

    def __init__(self):
        self.messages: list[tuple] = []
        self.servers = WaitQueue('object server', interruptible=True)


OBJECT_SERVER_PID = 1000     # the object server's own pid, apart from the programs' sequence


def start_object_server(kernel, data: bytes, path: bytes = b'/sbin/objsrv') -> 'ObjectServerLink':
    """Start the object server on the store's controller: its capabilities in its c-list,
    its fixed resources (every page of its image and stack) present and pinned first;
    returns its link once it has probed the disk.  The kernel starts it while opening the
    store (fs/mount.py, at mount_root); later calls find it running."""
    controller = kernel.store_controller
    if controller is None:
        raise ValueError('the machine has no object store controller')
    link = kernel.object_link
    if link is not None and link.running:
        return link
    link = kernel.object_link = ObjectServerLink(kernel, controller)
    # Started before the first program, it takes neither pid 1 nor the terminal.
    next_pid, foreground = kernel.next_pid, kernel.console.foreground
    kernel.next_pid = OBJECT_SERVER_PID
    try:
        p = kernel.spawn(data, [path], [], name='objsrv')
    finally:
        kernel.next_pid, kernel.console.foreground = next_pid, foreground
    p.caps = link.server_clist()
    controller.grant(p)
    link.server = p
    kernel.daemons.add(p.pid)
    kernel.serve_until(lambda: link.sectors is not None or not link.running)
    return link


class ObjectServerLink:
    """The kernel's side of the object server protocol."""

    def __init__(self, kernel, controller: devcap.StoreController):
        self.kernel = kernel
        self.controller = controller
        self.objects = None               # the ObjectSpace, once the store is open
        self.endpoint = Endpoint()
        self.loads: dict[int, Load] = {}
        self.stores: dict[int, int] = {}      # oid -> the held frame being written
        self.written: dict = {}               # oid -> what to call at STORED (checkpoint.py)
        self.transfers: dict[int, Transfer] = {}
        self.next_tag = 1
        self.sectors = None               # the store disk's size, once the server is READY
        self.server = None
        self.on_done = None               # called when a READ/WRITE finished (disk.py)
        self.device = None                # disk.py's ServerSectorDevice, which asks for them
        controller.on_exit = self.server_gone

    def server_clist(self) -> list:
        clist = [None] * 64
        clist[SERVER_ENDPOINT] = Cap(CapType.ENDPOINT)
        clist[SERVER_FRAMES] = Cap(CapType.FRAME)       # the sensitive one: a frame factory
        clist[SERVER_KERNEL] = Cap(CapType.PROCESS)     # "the kernel": LOADED, STORED, DONE
        return clist

    @property
    def running(self) -> bool:
        return self.server is not None and self.server.state.value != 'zombie'

    # -- the kernel asks ------------------------------------------------------------------
    def request_load(self, oid: int) -> WaitQueue:
        """A process needs page `oid`: queue an upcall (once per OID) and say what to wait on."""
        load = self.loads.get(oid)
        if load is None:
            load = self.loads[oid] = Load(oid)
            entry, lba = self.objects.store.locate(oid)
            message = (MSG_LOAD, oid, lba, entry.object_sectors)
            if self.device is not None:
                self.device.in_order(lambda: self._post(message))   # after writes queued
            else:
                self._post(message)
            self.kernel.vmstat['object_upcalls'] += 1
        return load.waiters

    def request_store(self, oid: int, frame: int, lba: int, sectors: int, written) -> None:
        """Have the server write `frame` to sectors lba.. of the store disk (a checkpoint's
        log or the object's home); written(oid, ok) is called when it reports STORED."""
        self._lend(frame)
        self.stores[oid] = frame
        self.written[oid] = written
        # the frame capability is made when the server takes the message (its c-list is small)
        self._post((MSG_STORE, oid, lba, sectors, frame))

    def request_sectors(self, lba: int, count: int, frame: int, write: bool) -> Transfer:
        """Move `count` sectors between the store and a kernel frame (already pinned)."""
        tag, self.next_tag = self.next_tag, self.next_tag + 1
        transfer = self.transfers[tag] = Transfer(frame, write)
        self.controller.lend(frame)
        self._post((MSG_WRITE if write else MSG_READ, tag, lba, count, frame))
        return transfer

    def _lend(self, frame: int) -> None:
        self.kernel.frames.pin(frame)
        self.controller.lend(frame)

    def _take_back(self, frame: int) -> None:
        self.controller.take_back(frame)
        self.kernel.frames.unpin(frame)

    def _post(self, message: tuple) -> None:
        self.endpoint.messages.append(message)
        self.endpoint.servers.wake_all(self.kernel.wake)
        if self.kernel.trace.enabled:
            self.kernel._emit('object', self.server, what='upcall', message=list(message))

    def _give_frame(self, frame: int) -> int:
        caps = self.server.caps
        slot = next(i for i in range(FIRST_FRAME_SLOT, len(caps)) if caps[i] is None)
        caps[slot] = Cap(CapType.FRAME, frame)
        return slot

    def _frame_of(self, p, slot: int) -> int | None:
        cap = p.caps[slot] if 0 <= slot < len(p.caps) else None
        if cap is None or cap.type != CapType.FRAME or not cap.oid:
            return None
        return cap.oid

    # -- the server asks ------------------------------------------------------------------
    def wait(self, p, msg_addr: int):
        """ukern_cap_wait on the endpoint: the next upcall message (a generator).
        A message naming a frame carries its FRAME capability's slot and its address."""
        while not self.endpoint.messages:
            yield self.endpoint.servers
        message = self.endpoint.messages.pop(0)
        if message[0] != MSG_LOAD:
            frame = message[4]
            message = message[:4] + (self._give_frame(frame), frame)
        words = list(message) + [0] * (8 - len(message))
        self.kernel.user(p).write(msg_addr, struct.pack('<8q', *words))
        return message[0]

    def alloc_frame(self, p, out: list):
        """The frame capability: a cleared frame, I/O-pinned and lent to the controller;
        its physical address goes to the server."""
        k = self.kernel
        try:
            # the OOM killer spares the server (kernel/mm/reclaim.py)
            frame = yield from k.reclaim.alloc_for(p, zero=True)
        except OutOfMemory:
            return -Errno.ENOMEM
        self._lend(frame)
        out[1] = frame                       # the physical address, disclosed
        if k.trace.enabled:
            k._emit('object', p, what='frame for I/O', frame=hex(frame), pinned=k.frames.pinned(frame))
        return self._give_frame(frame)

    def loaded(self, p, oid: int, frame_slot: int, status: int) -> int:
        frame = self._frame_of(p, frame_slot)
        load = self.loads.get(oid)
        if frame is None or load is None:
            return -Errno.EINVAL
        del self.loads[oid]
        p.caps[frame_slot] = None
        self._take_back(frame)
        if status != 0:
            # The waiters try again, and so upcall again: a bad sector is retried.
            self.kernel.log(f'ukern: object server: reading object {oid:#x} failed ({status})')
            self.kernel.frames.release(frame)
        elif self.objects.verify_page(oid, frame):
            self.objects.loaded(oid, frame)      # the frame now belongs to the object cache
        else:
            self.kernel.frames.release(frame)    # damaged: the waiters get SIGBUS
        load.done = True
        load.waiters.wake_all(self.kernel.wake)
        if self.kernel.trace.enabled:
            self.kernel._emit('object', p, what='loaded', oid=hex(oid), frame=hex(frame))
        return 0

    def stored(self, p, oid: int, frame_slot: int, status: int) -> int:
        frame = self.stores.pop(oid, None)
        if frame is None:
            return -Errno.EINVAL
        if 0 <= frame_slot < len(p.caps):
            p.caps[frame_slot] = None
        self._take_back(frame)
        if status != 0:
            self.kernel.log(f'ukern: object server: writing object {oid:#x} failed ({status})')
        written = self.written.pop(oid, None)
        if written is not None:
            written(oid, status == 0)            # the checkpoint tries again, or gives up
        if self.device is not None:
            self.device.pump()                   # a frame may be free for the store's writes
        return 0

    def done(self, p, tag: int, frame_slot: int, status: int) -> int:
        transfer = self.transfers.pop(tag, None)
        if transfer is None:
            return -Errno.EINVAL
        if 0 <= frame_slot < len(p.caps):
            p.caps[frame_slot] = None
        self.controller.take_back(transfer.frame)
        transfer.done, transfer.error = True, status != 0
        transfer.waiters.wake_all(self.kernel.wake)
        if self.on_done is not None:
            self.on_done()                       # disk.py: a frame is free for the backlog
        return 0

    def ready(self, p, sectors: int) -> int:
        if sectors <= 0:
            return -Errno.EINVAL
        self.sectors = sectors
        return 0

    def serve(self, p, cap: Cap, op: int, words: list[int], msg_addr: int):
        """The server's operations on its endpoint, frame and kernel capabilities (a
        generator: waiting and frame allocation block the server)."""
        if p is not self.server:
            return -Errno.EPERM
        args = words[1:]
        if cap.type == CapType.ENDPOINT and op == WAIT:
            return (yield from self.wait(p, msg_addr))
        if cap.type == CapType.FRAME and op == FRAME_ALLOC:
            return (yield from self.alloc_frame(p, words))
        if cap.type == CapType.PROCESS and op == OBJ_LOADED:
            return self.loaded(p, args[0], args[1], args[2])
        if cap.type == CapType.PROCESS and op == OBJ_STORED:
            return self.stored(p, args[0], args[1], args[2])
        if cap.type == CapType.PROCESS and op == OBJ_DONE:
            return self.done(p, args[0], args[1], args[2])
        if cap.type == CapType.PROCESS and op == OBJ_READY:
            return self.ready(p, args[0])
        return -Errno.EINVAL

    def server_gone(self) -> None:
        """The server died: nobody will answer.  Whoever waits for a load, for sectors or
        for a checkpoint is woken to find it failed (a process touching an object then
        gets SIGBUS, mm/fault.py); frames lent for I/O come back."""
        k = self.kernel
        self.endpoint.messages.clear()
        for load in self.loads.values():
            load.waiters.wake_all(k.wake)
        self.loads.clear()
        self._drop_load_frames()
        for frame in self.stores.values():
            self._take_back(frame)
        self.stores.clear()
        self.written.clear()
        for transfer in self.transfers.values():
            self.controller.take_back(transfer.frame)
            transfer.done = transfer.error = True
            transfer.waiters.wake_all(k.wake)
        self.transfers.clear()
        if self.objects is not None:
            # The checkpoint being written cannot be finished: the store stays at the last
            # one committed, and whoever waits for a commit is told (EIO).
            self.objects.checkpoints.server_gone()
        k.log('ukern: the object server is gone: the object store cannot be reached')

    def _drop_load_frames(self) -> None:
        """Frames the server took with FRAME_ALLOC for a load it never reported: nobody
        else holds them (a STORE's or a transfer's frame is given back by its owner)."""
        server = self.server
        lent = set(self.stores.values()) | {t.frame for t in self.transfers.values()}
        for slot, cap in enumerate(server.caps or () if server is not None else ()):
            if cap is not None and cap.type == CapType.FRAME and cap.oid and cap.oid not in lent:
                server.caps[slot] = None
                self._take_back(cap.oid)
                self.kernel.frames.release(cap.oid)

    # -- accounts (kernel/check.py) -------------------------------------------------------
    def lent_frames(self) -> list[tuple[int, str]]:
        """Frames pinned for the server's I/O, each with who owns it."""
        out = [(frame, 'storing') for frame in self.stores.values()]
        out += [(t.frame, 'sectors') for t in self.transfers.values()]
        return out
