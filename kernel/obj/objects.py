"""Persistent objects in the kernel: capabilities, the object cache, the space bank, nodes.

The kernel resolves an OID to its home sector by the range table; the sectors themselves
move through the object server, /sbin/objsrv, which drives the store's own disk from ring 3
(server.py: pages by upcall; disk.py: the store's SectorDevice for the rest).  Changes
reach the disk only as checkpoints (checkpoint.py): consistent snapshots of the whole
object space, written through the server too.

  - Every process has a c-list: slots holding capabilities.  Guests name capabilities by
    slot and never see OIDs as authority.  A new process starts with slot 0 = the space
    bank and slot 1 = the root node (a well-known node that outlives every boot).
  - The object cache maps OID -> frame (pages) or Node (nodes).  A page is mapped into a
    process read-only first; the first write through a capability that allows it marks the
    object dirty.  Dirty objects are saved by the next checkpoint: every --checkpoint-ms,
    on ukern_objsync and sync(), and at shutdown.  Everything read from the store is
    checked against its checksum: a damaged page gives SIGBUS to whoever touches it, a
    damaged node EIO to the call that reads it.
  - The space bank allocates fresh, zeroed pages and nodes within a quota, and destroys
    them; destroying bumps the object's version, which revokes every capability to it.
"""

from dataclasses import dataclass

import zlib

from ..errno import Errno
from ..mm.frames import PAGE_SIZE
from ..mm.pagetable import A
from ..proc.process import State
from .checkpoint import Checkpointer
from .layout import Capability, CapType, Node, ObjectKind, Rights, NODE_SLOTS
from .store import ObjectStore, ObjectStoreError

CLIST_SLOTS = 64
BANK_SLOT, ROOT_SLOT = 0, 1
DEFAULT_QUOTA = 4096          # pages and nodes one boot's space bank may hand out


@dataclass(frozen=True)
class Cap:
    """A capability in a c-list: a stored object (oid, version), or the space bank."""
    type: CapType
    oid: int = 0
    version: int = 0
    rights: Rights = Rights.NONE

    @property
    def writable(self) -> bool:
        return not self.rights & (Rights.READ_ONLY | Rights.WEAK)

    def stored(self) -> Capability:
        return Capability(oid=self.oid, version=self.version, type=self.type, rights=int(self.rights))


def new_clist() -> list:
    return [None] * CLIST_SLOTS


class ObjectSpace:
    """The object store as the kernel sees it: the cache, the bank, the root node."""

    def __init__(self, kernel, store: ObjectStore):
        self.kernel = kernel
        self.store = store
        self.pages: dict[int, int] = {}         # oid -> frame (the cache holds one reference)
        self.nodes: dict[int, Node] = {}
        self.dirty: set[int] = set()
        self.young: set[int] = set()      # loaded for a fault, not yet mapped by it
        self.quota = DEFAULT_QUOTA
        self.allocated = 0
        self.broken: set[int] = set()     # objects that failed their checksum when read
        self.checkpoints = Checkpointer(self)
        self.root = self._root_node()
        self.link = None            # obj/server.ObjectServerLink once the object server runs
        self.endpoints: dict = {}   # endpoint id -> ipc.Endpoint (not persistent)

    def _root_node(self) -> Cap:
        """The first node of the node range is the root, made on the first boot."""
        node_range = next(r for r in self.store.ranges if r.kind == ObjectKind.NODE)
        oid = node_range.start_oid
        if not self.store.is_allocated(oid):
            got = self.store.allocate(ObjectKind.NODE)
            assert got == oid, 'the root node must be the first node'
        return Cap(CapType.NODE, oid, self.store.version(oid))

    def initial_clist(self) -> list:
        clist = new_clist()
        clist[BANK_SLOT] = Cap(CapType.SPACE_BANK)
        clist[ROOT_SLOT] = self.root
        return clist

    # -- validity and the cache ------------------------------------------------------------
    def current(self, cap: Cap) -> bool:
        return self.store.is_current(cap.stored())

    def new_endpoint(self) -> int:
        from .ipc import Endpoint
        ident = len(self.endpoints) + 1
        self.endpoints[ident] = Endpoint()
        return ident

    def shrink(self, want: int) -> int:
        """Memory is short: give back up to `want` frames of clean object pages (the store
        can read them again), by a clock over the cache in load order, an LRU
        approximation.  A page some process touched since the hand last passed (an
        Accessed bit in a mapping), or one just loaded for a fault that has not yet mapped
        it, gets a second chance; any other clean page is unmapped from every process and
        dropped, and the next touch faults and loads it again.  Dirty pages wait for a
        checkpoint (asked for here); pages under DMA or held by a checkpoint stay."""
        freed, flush = 0, set()
        for _ in range(2):                 # the second pass finds the pages given a chance
            for oid, frame in list(self.pages.items()):
                if freed >= want:
                    break
                mappers = self.kernel.frames.rmap.mappers(frame)
                if not self._droppable(oid, frame, mappers):
                    continue
                if self._referenced(oid, mappers, flush):
                    del self.pages[oid]    # to the back of the clock
                    self.pages[oid] = frame
                    continue
                self._drop(oid, frame, mappers)
                freed += 1
        for aspace in flush:
            self.kernel.flush_tlb_of(aspace)
        self.kernel.vmstat['object_pages_dropped'] += freed
        return freed

    def _droppable(self, oid: int, frame: int, mappers) -> bool:
        frames = self.kernel.frames
        if frames.pinned(frame) or frames.refs(frame) != 1 + len(mappers):
            return False                   # under DMA, or held by a checkpoint
        if oid in self.dirty:
            if self.link is not None and self.link.running:
                self.checkpoints.request()
            return False
        return True

    def _referenced(self, oid: int, mappers, flush: set) -> bool:
        """Whether the page was used since the hand last passed; clears the evidence."""
        used = oid in self.young
        self.young.discard(oid)
        for aspace, va in mappers:
            pte = aspace.pt.lookup(va)
            if pte & A:
                aspace.pt.update(va, pte & ~A)
                flush.add(aspace)          # the TLB may keep the bit set without a walk
                used = True
        return used

    def _drop(self, oid: int, frame: int, mappers) -> None:
        self.kernel.reclaim.unmap_all(frame, mappers)
        del self.pages[oid]
        self.young.discard(oid)
        self.kernel.frames.release(frame)

    def loaded(self, oid: int, frame: int) -> None:
        """The server read page `oid` into `frame` for a fault: the cache keeps it, and
        the clock spares it once, so the faulter finds it when it runs again."""
        self.pages[oid] = frame
        self.young.add(oid)

    def cached_frame(self, oid: int) -> int | None:
        return self.pages.get(oid)

    def verify_page(self, oid: int, frame: int) -> bool:
        """Whether the page just read into `frame` matches its checksum; if not, the
        object is marked broken (every access to it fails) and the kernel says so once."""
        data = self.kernel.machine.memory.read(frame, PAGE_SIZE)
        if zlib.crc32(data) == self.store.checksum(oid):
            return True
        self._broken(oid, f'page {oid:#x} fails its checksum (damaged on the disk)')
        return False

    def _broken(self, oid: int, why: str) -> None:
        if oid not in self.broken:
            self.broken.add(oid)
            self.kernel.log(f'ukern: object store: {why}')

    def page_frame(self, oid: int) -> int | None:
        """The frame holding page `oid`, read through the store's device on a miss; None
        if the page is damaged.  In the kernel a miss never gets here: the store is behind
        the object server, and mm/fault.py upcalls it (LOAD) or, with it gone, says SIGBUS."""
        frame = self.pages.get(oid)
        if frame is None:
            if oid in self.broken:
                return None
            try:
                data = self.store.read_object(oid)
            except (ObjectStoreError, OSError) as err:
                self._broken(oid, str(err))
                return None
            frame = self.kernel.frames.alloc(zero=False)
            self.kernel.machine.memory.write(frame, data)
            self.pages[oid] = frame
            self.kernel.vmstat['object_loads'] += 1
        return frame

    def node(self, oid: int) -> Node:
        """The node, read on a miss; ObjectStoreError if it is damaged."""
        node = self.nodes.get(oid)
        if node is None:
            try:
                node = self.nodes[oid] = self.store.read_node(oid)
            except (ObjectStoreError, OSError) as err:
                self._broken(oid, str(err))
                raise ObjectStoreError(str(err)) from None
            self.kernel.vmstat['object_loads'] += 1
        return node

    def mark_dirty(self, oid: int) -> None:
        self.dirty.add(oid)
        self.checkpoints.object_changed()

    def sync(self):
        """A generator: a checkpoint of everything as it is now, committed when it
        returns (ukern_objsync, sync()); returns how many objects were dirty, or -EIO
        if it cannot be (checkpoint.py: the store's disk cannot be reached)."""
        dirty = len(self.dirty)
        if not (yield from self.checkpoints.wait_for(self.checkpoints.request())):
            return -Errno.EIO
        return dirty

    def make_room(self):
        """A generator: wait until one more object can be dirtied and still fit the log;
        -EIO if no checkpoint can make room any more, else 0."""
        while not self.checkpoints.room_for(1):
            if self.checkpoints.failed is not None:
                return -Errno.EIO
            self.checkpoints.request()
            yield self.checkpoints.done
        return 0

    def shutdown(self) -> None:
        """The last checkpoint.  The kernel's loop is not running: serve the object server
        until it is committed and home (or the server is gone, or stops answering)."""
        from ..fs.mount import BootError
        link, dev = self.link, self.store.dev
        if link is not None and link.running:
            self.checkpoints.request()
            try:
                self.kernel.serve_until(lambda: not link.running
                                        or (self.checkpoints.settled() and dev.idle))
            except BootError as err:
                self.kernel.log(f'ukern: object store: {err}')
        if self.dirty or self.store.dirty_maps or not self.checkpoints.settled() \
                or self.checkpoints.failed is not None or not getattr(dev, 'idle', True):
            self.kernel.log('ukern: the object server is gone: objects were not written back')
        if hasattr(dev, 'release_reserve'):
            dev.release_reserve()

    # -- the space bank ---------------------------------------------------------------------
    def allocate(self, kind: ObjectKind) -> Cap | int:
        if self.allocated >= self.quota:
            return -Errno.ENOSPC
        try:
            oid = self.store.allocate(kind)
        except ObjectStoreError:
            return -Errno.ENOSPC
        self.allocated += 1
        return Cap(CapType.PAGE if kind == ObjectKind.PAGE else CapType.NODE, oid, self.store.version(oid))

    def destroy(self, cap: Cap) -> int:
        if cap.type not in (CapType.PAGE, CapType.NODE) or not self.current(cap) or not cap.writable:
            return -Errno.EPERM
        if cap.oid == self.root.oid:
            return -Errno.EPERM
        self.broken.discard(cap.oid)
        frame = self.pages.pop(cap.oid, None)
        self.nodes.pop(cap.oid, None)
        self.dirty.discard(cap.oid)
        self.young.discard(cap.oid)
        self.store.free(cap.oid)
        self.allocated = max(0, self.allocated - 1)
        self._unmap_everywhere(cap.oid)
        if frame is not None:
            self.kernel.frames.release(frame)
        return 0

    def _unmap_everywhere(self, oid: int) -> None:
        """A destroyed object: no process keeps a mapping of it."""
        for p in self.kernel.procs.values():
            if p.state is State.ZOMBIE:
                continue
            for r in p.aspace.regions:
                if r.obj is not None and r.obj.oid == oid:
                    p.aspace.unmap_range(r.start, r.end)
                    self.kernel.flush_tlb(p)

    # -- nodes ---------------------------------------------------------------------------------
    def node_get(self, node_cap: Cap, index: int) -> Cap | int:
        if node_cap.type != CapType.NODE or not self.current(node_cap) or not 0 <= index < NODE_SLOTS:
            return -Errno.EINVAL
        try:
            stored = self.node(node_cap.oid).slots[index]
        except ObjectStoreError:
            return -Errno.EIO
        if stored.type == CapType.VOID:
            return -Errno.ENOENT
        rights = Rights(stored.rights)
        if node_cap.rights & Rights.WEAK:               # EROS: what a weak key fetches is weak
            rights |= Rights.WEAK | Rights.READ_ONLY
        return Cap(CapType(stored.type), stored.oid, stored.version, rights)

    def node_set(self, node_cap: Cap, index: int, cap: Cap | None) -> int:
        if node_cap.type != CapType.NODE or not self.current(node_cap) or not 0 <= index < NODE_SLOTS:
            return -Errno.EINVAL
        if not node_cap.writable:
            return -Errno.EPERM
        if cap is not None and cap.type not in (CapType.PAGE, CapType.NODE):
            return -Errno.EINVAL             # only stored objects can be stored
        try:
            node = self.node(node_cap.oid)
        except ObjectStoreError:
            return -Errno.EIO
        node.slots[index] = cap.stored() if cap is not None else Capability()
        self.mark_dirty(node_cap.oid)
        return 0
