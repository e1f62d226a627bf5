"""The object server upcall (seed 001, "new, microkernel EROS").

When a process touches a page object that is not in the object cache, the kernel blocks it
and upcalls the object server, a ring-3 program started at boot, with a message naming
the OID and its home sectors (the kernel keeps the range table).  The server then:

  1. invokes its frame capability (sensitive: only the server holds it): the kernel clears
     a frame, marks it I/O-pinned, and hands back a FRAME capability that discloses the
     frame's physical address;
  2. invokes its disk capability to have the disk DMA the object's sectors into that
     physical address (the kernel's AHCI block layer, as the file system uses);
  3. invokes its kernel capability with LOADED(oid, frame): the kernel unpins the frame,
     enters it in the object cache and restarts every process that waited for that OID.

Dirty objects go to the disk the same way: a STORE message hands the server a FRAME
capability to a frame the checkpoint holds (pinned while the DMA reads it) and the sectors
to write it to -- the checkpoint's log first, the object's home later (checkpoint.py) --,
it asks the disk to write, and tells the kernel STORED(oid).  LOADED is checked against
the object's checksum: a damaged page is refused, and whoever waited for it gets SIGBUS.
The server runs in fixed resources: its pages are all present and pinned before it
starts, so it never faults on anything it would have to fetch itself (the livelock the
seed warns about cannot happen).
"""

import struct
from dataclasses import dataclass, field

from ..dev.blk import BlockRequest
from ..errno import Errno
from ..mm.frames import PAGE_SIZE, OutOfMemory
from ..proc.wait import WaitQueue
from .layout import CapType
from .objects import Cap

# Upcall messages (w[0]) and the server's operations on its capabilities.
MSG_LOAD, MSG_STORE = 1, 2
FRAME_ALLOC = 30
DISK_READ, DISK_WRITE = 40, 41
OBJ_LOADED, OBJ_STORED = 50, 51
# The server's c-list at start: where it finds its capabilities (ukern.h says the same).
SERVER_ENDPOINT, SERVER_FRAMES, SERVER_DISK, SERVER_KERNEL = 0, 1, 2, 3


@dataclass(eq=False)
class Load:
    """An object being loaded by the object server, and who waits for it."""
    oid: int
    waiters: WaitQueue = field(default_factory=lambda: WaitQueue('object load'))
    done: bool = False


class Endpoint:
    """Where the server waits for upcalls: messages queue until it asks for the next."""

    def __init__(self):
        self.messages: list[tuple] = []
        self.servers = WaitQueue('object server', interruptible=True)


class ObjectServerLink:
    """The kernel's side of the object server protocol."""

    def __init__(self, kernel, objects, disk, partition_lba: int):
        self.kernel = kernel
        self.objects = objects
        self.disk = disk
        self.partition_lba = partition_lba
        self.endpoint = Endpoint()
        self.loads: dict[int, Load] = {}
        self.stores: dict[int, int] = {}      # oid -> the held frame being written
        self.written: dict = {}               # oid -> what to call at STORED
        self.server = None

    def server_clist(self) -> list:
        clist = self.objects.initial_clist()
        clist[SERVER_ENDPOINT] = Cap(CapType.ENDPOINT)
        clist[SERVER_FRAMES] = Cap(CapType.FRAME)       # the sensitive one: a frame factory
        clist[SERVER_DISK] = Cap(CapType.DISK)
        clist[SERVER_KERNEL] = Cap(CapType.PROCESS)     # "the kernel": LOADED, STORED
        clist[4] = None
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
            self._post((MSG_LOAD, oid, self.partition_lba + lba, entry.object_sectors))
            self.kernel.vmstat['object_upcalls'] += 1
        return load.waiters

    def request_store(self, oid: int, frame: int, lba: int, sectors: int, written) -> None:
        """Have the server write `frame` to sectors lba.. of the store (partition-relative);
        written(oid) is called when it reports STORED."""
        self.kernel.frames.pin(frame)
        self.stores[oid] = frame
        self.written[oid] = written
        # the frame capability is made when the server takes the message (its c-list is small)
        self._post((MSG_STORE, oid, self.partition_lba + lba, sectors, frame))

    def abandon_store(self, oid: int) -> None:
        """The server is gone: the kernel writes this page itself (shutdown)."""
        frame = self.stores.pop(oid, None)
        self.written.pop(oid, None)
        if frame is not None:
            self.kernel.frames.unpin(frame)

    def _post(self, message: tuple) -> None:
        self.endpoint.messages.append(message)
        self.endpoint.servers.wake_all(self.kernel.wake)
        if self.kernel.trace.enabled:
            self.kernel._emit('object', self.server, what='upcall', message=list(message))

    def _give_frame(self, frame: int) -> int:
        caps = self.server.caps
        slot = next(i for i in range(8, len(caps)) if caps[i] is None)
        caps[slot] = Cap(CapType.FRAME, frame)
        return slot

    # -- the server asks ------------------------------------------------------------------
    def wait(self, p, msg_addr: int):
        """ukern_cap_wait on the endpoint: the next upcall message (a generator)."""
        while not self.endpoint.messages:
            yield self.endpoint.servers
        message = self.endpoint.messages.pop(0)
        if message[0] == MSG_STORE:
            message = message[:4] + (self._give_frame(message[4]),)
        words = list(message) + [0] * (8 - len(message))
        self.kernel.user(p).write(msg_addr, struct.pack('<8q', *words))
        return message[0]

    def alloc_frame(self, p, out: list):
        """The frame capability: a cleared, I/O-pinned frame; its address goes to the server."""
        k = self.kernel
        while True:
            try:
                frame = k.frames.alloc(zero=True)
                break
            except OutOfMemory:
                k.reclaim.balance()
                yield k.reclaim.memory_freed
        k.frames.pin(frame)
        out[1] = frame                       # the physical address, disclosed
        if k.trace.enabled:
            k._emit('object', p, what='frame for I/O', frame=hex(frame), pinned=k.frames.pinned(frame))
        return self._give_frame(frame)

    def disk_io(self, p, lba: int, sectors: int, frame_slot: int, write: bool):
        """The disk capability: DMA between the object partition and a frame capability."""
        frame_cap = p.caps[frame_slot] if 0 <= frame_slot < len(p.caps) else None
        if frame_cap is None or frame_cap.type != CapType.FRAME or not frame_cap.oid:
            return -Errno.EBADF
        store_sectors = self.objects.store.dev.nsectors
        if not self.partition_lba <= lba or lba + sectors > self.partition_lba + store_sectors \
                or sectors * self.disk.sector_size > PAGE_SIZE:
            return -Errno.EINVAL               # only the object store, only into the frame
        req = self.disk.queue.submit(BlockRequest(self.disk, lba, sectors,
                                                  [(frame_cap.oid, sectors * self.disk.sector_size)],
                                                  write=write))
        error = yield from req.wait()
        return error

    def loaded(self, p, oid: int, frame_slot: int) -> int:
        frame_cap = p.caps[frame_slot] if 0 <= frame_slot < len(p.caps) else None
        load = self.loads.pop(oid, None)
        if frame_cap is None or frame_cap.type != CapType.FRAME or load is None:
            return -Errno.EINVAL
        p.caps[frame_slot] = None
        frame = frame_cap.oid
        self.kernel.frames.unpin(frame)
        if self.objects.verify_page(oid, frame):
            self.objects.pages[oid] = frame      # the frame now belongs to the object cache
        else:
            self.kernel.frames.release(frame)
        load.done = True
        load.waiters.wake_all(self.kernel.wake)
        if self.kernel.trace.enabled:
            self.kernel._emit('object', p, what='loaded', oid=hex(oid), frame=hex(frame))
        return 0

    def stored(self, p, oid: int, frame_slot: int) -> int:
        frame = self.stores.pop(oid, None)
        if frame is None:
            return -Errno.EINVAL
        if 0 <= frame_slot < len(p.caps):
            p.caps[frame_slot] = None
        self.kernel.frames.unpin(frame)
        written = self.written.pop(oid, None)
        if written is not None:
            written(oid)
        return 0
