"""The kernel's books, checked: every frame, swap slot and waiting task is where it should be.

check(k) walks what the kernel holds and raises InvariantError, one line per problem, when
the books do not balance (the test suite runs it after every test that booted a kernel,
`ukern run --check` at every context switch).  What it checks:

  - the frame allocator agrees with itself: a frame is in the free map exactly when it has
    no reference and no pin, and the free count is the number of such frames;
  - the reverse map and the page tables agree: every present user PTE of a live address
    space is in the reverse map, and every reverse-map entry is such a PTE;
  - every frame in use is in an account, and its reference count is what its accounts
    hold: one per PTE that maps it, plus one for each of the page tables (the table that
    points at it), the buffer cache, a tmpfs/shmem page, the swap cache, a System V
    segment, the object cache (and the frames a checkpoint holds), the kernel's own
    frames (its half of the page tables, the AHCI command lists and bit buckets), the
    store's sectors on their way through the object server, a MAP_DIRECT read in flight;
    at most one of these "owner" accounts per frame (a page table is never also a cache
    page: no double account);
  - pins: each pin has an owner (a block request in a queue or in a port's slot, a
    page-out, an AHCI structure, the object server's fixed pages and I/O frames, a
    MAP_DIRECT read);
  - every swap slot in use is referenced exactly as often as its reference count says (by
    PTE swap entries, tmpfs pages in swap, tmpfs pages on their way back, page-outs in
    flight), and every slot in the swap cache is in use;
  - the runqueue holds only runnable tasks, each once, and every runnable task is on it;
    a blocked task is on the queue it waits on, and the queues we can find hold only
    tasks blocked on them.

Not checked exactly: while some process is in the middle of a system call (its generator
holds frames of its own: a copy pinning tmpfs pages, a DMA into user frames, a boot-time
transfer), a frame may carry more references and pins than its accounts name; then only
"fewer references than accounts" and the free-map rules are checked.  A pinned frame may
always carry more references than its accounts: the I/O's own (an aio write, a MAP_DIRECT
write-back, a swap-in still reading), which the checker does not enumerate.  The object
cache is not compared with the store's maps on disk.
Wait queues are found through the tasks blocked on them and a few well-known ones, not
all the queues that exist.
"""

from collections import Counter

from .mm.frames import PAGE_SHIFT, PAGE_SIZE
from .mm.pagetable import ADDR_MASK, BLOCKED, ENTRIES, KERNEL_HALF_INDEX, P, SWAP, PS, HUGE_ADDR_MASK, HUGE_PAGES
from .proc.process import State
from .proc.wait import WaitAny, WaitQueue

MAX_LINES = 20            # a broken book can have thousands of bad entries: show the first ones


class InvariantError(Exception):
    """The kernel's books do not balance; the message has one line per problem."""

    def __init__(self, problems: list[str]):
        more = len(problems) - MAX_LINES
        super().__init__('\n'.join(problems[:MAX_LINES] + ([f'... and {more} more'] if more > 0 else [])))
        self.problems = problems


def check(k) -> None:
    problems = find_problems(k)
    if problems:
        raise InvariantError(problems)


def find_problems(k) -> list[str]:
    books = Books(k)
    return (check_free_map(k.frames) + books.check_rmap() + books.check_frames()
            + books.check_pins() + books.check_swap() + check_tasks(k))


def live_aspaces(k) -> list:
    """The address spaces of tasks that are not zombies (threads share one), and the new
    image of a task whose execve has not switched to it yet."""
    seen = {}
    for p in k.procs.values():
        if p.state is not State.ZOMBIE and p.aspace is not None:
            seen[id(p.aspace)] = p.aspace
            if p.exec_image is not None:
                seen[id(p.exec_image)] = p.exec_image
    return list(seen.values())


def in_call(k) -> bool:
    """Is some task in the middle of a system call (not a daemon waiting for requests)?"""
    return any(p.pending is not None and p.pid not in k.daemons and p.state is not State.ZOMBIE
               for p in k.procs.values())


# -- the allocator's own books ---------------------------------------------------------------

def check_free_map(frames) -> list[str]:
    out = []
    first = frames.first >> PAGE_SHIFT
    free_map = frames._free_map
    if any(free_map[:first]):
        out.append(f'frame {free_map.index(1) << PAGE_SHIFT:#x}: below the first allocatable frame, yet free')
    for pfn in range(first, len(free_map)):
        idle = not frames.refcount[pfn] and not frames.pins[pfn]
        if idle != bool(free_map[pfn]):
            state = 'free' if free_map[pfn] else 'in use'
            out.append(f'frame {pfn << PAGE_SHIFT:#x}: {state} in the free map, but refcount '
                       f'{frames.refcount[pfn]} pins {frames.pins[pfn]}')
    counted = free_map.count(1)
    if counted != frames.free_count:
        out.append(f'free count {frames.free_count}, but {counted} frames are free in the map')
    return out


# -- everything that holds a frame or a slot ---------------------------------------------------

class Books:
    """What the kernel's structures say they hold, gathered once per check."""

    def __init__(self, k):
        self.k = k
        self.frames = k.frames
        self.first = k.frames.first
        self.busy = in_call(k)
        self.ptes: set[tuple] = set()           # (frame, id(aspace), va) of present user PTEs
        self.mapcount = Counter()               # frame -> present PTEs pointing at it
        self.owner: dict[int, str] = {}         # frame -> its one owner account
        self.held = Counter()                   # frame -> references the owner accounts hold
        self.pins = Counter()                   # frame -> pins whose owners we know
        self.slot_refs = Counter()              # swap slot -> its holders
        self.problems: list[str] = []
        for aspace in live_aspaces(k):
            self._walk_user(aspace)
        self._walk_kernel_half(k.kernel_pdpt)
        self._gather_caches()
        self._gather_io()

    def _own(self, frame: int, account: str, refs: int = 1) -> None:
        if frame < self.first:
            return
        other = self.owner.get(frame)
        if other is not None and other != account:
            self.problems.append(f'frame {frame:#x}: in two accounts, {other} and {account}')
        self.owner[frame] = account
        self.held[frame] += refs

    # -- page tables --
    def _walk_user(self, aspace) -> None:
        words = self.frames.memory.words
        root = aspace.pt.root
        self._own(root, 'page table')
        key = id(aspace)
        stack = [(root, 0, 0)]
        while stack:
            table, level, base = stack.pop()
            span = 1 << (39 - 9 * level)
            limit = KERNEL_HALF_INDEX if level == 0 else ENTRIES
            entries = words[table >> 3:(table >> 3) + limit].tolist()
            for i, entry in enumerate(entries):
                if not entry:
                    continue
                va = base + i * span
                if level == 2 and entry & P and entry & PS:
                    self._huge_page(aspace, key, va, entry)
                elif level < 3:
                    if entry & P:
                        self._own(entry & ADDR_MASK, 'page table')
                        stack.append((entry & ADDR_MASK, level + 1, va))
                elif entry & P and (entry & ADDR_MASK) >= self.frames.end:
                    continue                    # a device's register page (Kind.DEVICE)
                elif entry & P:
                    frame = entry & ADDR_MASK
                    self.mapcount[frame] += 1
                    self.ptes.add((frame, key, va))
                elif entry & SWAP and not entry & BLOCKED:
                    self.slot_refs[entry >> 12] += 1

    def _huge_page(self, aspace, key: int, va: int, entry: int) -> None:
        """A 2 MiB page (mm/huge.py): one reverse-map entry for its first frame, one
        reference on each of its frames, and its leaf table deposited for a split."""
        frame = entry & HUGE_ADDR_MASK
        if frame & (HUGE_PAGES * PAGE_SIZE - 1):
            self.problems.append(f'va {va:#x}: 2 MiB page at a frame not 2 MiB-aligned ({frame:#x})')
        for f in range(frame, frame + HUGE_PAGES * PAGE_SIZE, PAGE_SIZE):
            self.mapcount[f] += 1
        self.ptes.add((frame, key, va))
        table = aspace.pt.deposit.get(va)
        if table is None:
            self.problems.append(f'va {va:#x}: 2 MiB page with no deposited leaf table')
        else:
            self._own(table, 'page table')

    def _walk_kernel_half(self, pdpt: int) -> None:
        words = self.frames.memory.words
        self._own(pdpt, 'kernel')
        stack = [(pdpt, 1)]
        while stack:
            table, level = stack.pop()
            if level == 3:
                continue
            for entry in words[table >> 3:(table >> 3) + ENTRIES].tolist():
                if entry & P:
                    self._own(entry & ADDR_MASK, 'kernel')
                    stack.append((entry & ADDR_MASK, level + 1))

    # -- caches and other holders --
    def _gather_caches(self) -> None:
        k = self.k
        cache = getattr(k.vfs, 'cache', None)
        if cache is not None:
            for buf in cache._lru.values():
                for i in range(buf.nframes):
                    self._own(buf.frame + i * PAGE_SIZE, 'buffer cache')
        for frame, (pages, index) in k.reclaim.owners.items():
            self._own(frame, 'tmpfs page')
            if pages.resident.get(index) != frame:
                self.problems.append(f'frame {frame:#x}: reclaim says tmpfs page {index}, '
                                     f'the file says {pages.resident.get(index)}')
        swap = k.frames.swap
        if swap is not None:
            for cached in swap.cache.values():
                self._own(cached.frame, 'swap cache')
        ipc = getattr(k, 'sysv_ipc', None)
        if ipc is not None:
            for seg in ipc.shm.by_id.values():
                for frame in seg.frames.values():
                    self._own(frame, 'System V segment')
        if k.objects is not None:
            for frame in k.objects.pages.values():
                self._own(frame, 'object cache')
            for frame in k.objects.checkpoints.held.values():   # captured (obj/checkpoint.py)
                self._own(frame, 'object cache')
        controller = k.store_controller
        if controller is not None:
            for frame in controller.owner_pins():      # a driver's fixed resources
                self.pins[frame] += 1
        link = getattr(k, 'object_link', None)
        if link is not None:
            self._gather_server_frames(link, link.server)

    def _gather_server_frames(self, link, server) -> None:
        """The object server's I/O: a cached page being stored is pinned until STORED; the
        store's own sectors travel in kernel frames (obj/disk.py), pinned until done; a
        frame handed out for a load (a FRAME capability) is its own, pinned, until LOADED."""
        from .obj.layout import CapType
        storing = set(link.stores.values())
        for frame in storing:
            self.pins[frame] += 1
        sectors = set()
        dev = getattr(link, 'device', None)
        if dev is not None:
            sectors = set(dev.pinned_frames())
            for frame in sectors:
                self._own(frame, 'object store sectors')
                self.pins[frame] += 1
        cached = set(link.objects.pages.values()) if link.objects is not None else set()
        if server is None or server.state is State.ZOMBIE:
            return
        for cap in server.caps or ():
            if cap is not None and cap.type == CapType.FRAME and cap.oid \
                    and cap.oid not in storing and cap.oid not in cached and cap.oid not in sectors:
                self._own(cap.oid, 'object server I/O frame')
                self.pins[cap.oid] += 1

    def _gather_io(self) -> None:
        k = self.k
        for frame in k.reclaim.inflight:
            self.pins[frame] += 1
        driver = getattr(k, 'ahci_driver', None)
        requests = []
        if driver is not None:
            for port in driver.ports.values():
                self._own(port.clb, 'kernel')
                self.pins[port.clb] += 1
                for frame in port.tables + [port.bucket]:
                    self._own(frame, 'kernel')
                    self.pins[frame] += 1
                requests += port.disk.queue.pending
                for command in port.inflight.values():
                    requests += command.reqs
        for req in requests:
            for first, count in getattr(req, '_pinned', ()):
                for i in range(count):
                    self.pins[first + i * PAGE_SIZE] += 1
        for aspace in live_aspaces(k):
            for r in aspace.regions:
                if r.file is not None and r.file.pending:
                    for frame, _ in r.file.pending.values():   # MAP_DIRECT reads
                        self._own(frame, 'MAP_DIRECT read')
                        self.pins[frame] += 1

    # -- the checks --
    def check_rmap(self) -> list[str]:
        out = []
        live = {id(a) for a in live_aspaces(self.k)}
        in_rmap = set()
        rmap = self.frames.rmap
        for frame in rmap.frames():
            for aspace, va in rmap.mappers(frame):
                in_rmap.add((frame, id(aspace), va))
                if id(aspace) not in live:
                    out.append(f'frame {frame:#x}: reverse map names va {va:#x} of an address '
                               f'space no live task has')
        for frame, _, va in sorted(self.ptes - in_rmap):
            out.append(f'frame {frame:#x}: mapped at va {va:#x}, missing from the reverse map')
        for frame, key, va in sorted(in_rmap - self.ptes):
            if key in live:
                out.append(f'frame {frame:#x}: reverse map says va {va:#x}, its PTE does not map it')
        return out

    def check_frames(self) -> list[str]:
        out = list(self.problems)
        frames = self.frames
        refcount, pins, first = frames.refcount, frames.pins, self.first >> PAGE_SHIFT
        accounted = set(self.held) | set(self.mapcount)
        for frame in sorted(accounted):
            pfn = frame >> PAGE_SHIFT
            if pfn < first:
                continue
            want = self.held[frame] + self.mapcount[frame]
            have = refcount[pfn]
            if have < want or (have > want and not self.busy and not pins[pfn]):
                what = self.owner.get(frame, 'mapped')
                out.append(f'frame {frame:#x}: refcount {have}, but {want} holders '
                           f'({self.mapcount[frame]} PTEs, {what})')
        if not self.busy:
            for pfn in range(first, len(refcount)):
                if refcount[pfn] and not pins[pfn] and (pfn << PAGE_SHIFT) not in accounted:
                    out.append(f'frame {pfn << PAGE_SHIFT:#x}: leaked (refcount {refcount[pfn]}, '
                               f'in no account)')
        return out

    def check_pins(self) -> list[str]:
        if self.busy:
            return []
        out = []
        pins = self.frames.pins
        for pfn in range(self.first >> PAGE_SHIFT, len(pins)):
            if pins[pfn] > self.pins[pfn << PAGE_SHIFT]:
                out.append(f'frame {pfn << PAGE_SHIFT:#x}: pinned {pins[pfn]} times, '
                           f'{self.pins[pfn << PAGE_SHIFT]} pin owners')
        return out

    def check_swap(self) -> list[str]:
        swap = self.frames.swap
        if swap is None:
            return [f'swap slot {s}: in a PTE, but there is no swap' for s in sorted(self.slot_refs)]
        out = []
        refs = Counter(self.slot_refs)
        for pages in self._all_shmem():
            for slot in pages.swapped.values():
                refs[slot] += 1
            for arriving in pages.arriving.values():
                refs[arriving.slot] += 1
        for page_out in self.k.reclaim.inflight.values():
            refs[page_out.slot] += 1
        for slot in sorted(set(refs) | set(swap.refs)):
            have = swap.refs.get(slot, 0)
            if refs[slot] != have and not (self.busy and have > refs[slot]):
                what = 'a slot nobody references' if not refs[slot] else f'{refs[slot]} holders'
                out.append(f'swap slot {slot}: refcount {have}, but {what}')
        for slot in swap.refs:
            if swap._free_map[slot]:
                out.append(f'swap slot {slot}: in use, yet free in the map')
        for slot in swap.cache:
            if slot not in swap.refs:
                out.append(f'swap slot {slot}: in the swap cache, but not in use')
        if swap._free_map.count(1) != swap.free_slots:
            out.append(f'swap: free count {swap.free_slots}, map says {swap._free_map.count(1)}')
        return out

    def _all_shmem(self) -> list:
        """Every tmpfs file's pages: through the mounts, the open files (an unlinked file
        lives on while open) and the mapped regions (unnamed shared mappings)."""
        from .fs.tmpfs import TmpFs
        found = {}

        def add(node) -> None:
            pages = getattr(node, 'pages', None)
            if pages is not None:
                found[id(pages)] = pages
        for m in self.k.vfs.mounts():
            if isinstance(m.fs, TmpFs):
                for node in m.fs._walk(m.fs.root()):
                    add(node)
        for p in self.k.procs.values():
            if p.state is not State.ZOMBIE and p.fds is not None:
                for f, _ in p.fds.fds.values():
                    add(getattr(f, 'node', None))
        for aspace in live_aspaces(self.k):
            for r in aspace.regions:
                if r.file is not None:
                    add(getattr(r.file.cache, 'node', None))
        return list(found.values())


# -- tasks ---------------------------------------------------------------------------------

def check_tasks(k) -> list[str]:
    out = []
    seen = set()
    for p in k.runqueue:
        if id(p) in seen:
            out.append(f'pid {p.pid}: twice on the runqueue')
        seen.add(id(p))
        if p.state is not State.RUNNABLE:
            out.append(f'pid {p.pid}: on the runqueue, but {p.state.value}')
        if k.procs.get(p.pid) is not p:
            out.append(f'pid {p.pid}: on the runqueue, but not a task of the kernel')
    queues = {id(k.reclaim.memory_freed): k.reclaim.memory_freed,
              id(k.console.readers): k.console.readers}
    for p in k.procs.values():
        if p.state is State.RUNNABLE and id(p) not in seen:
            out.append(f'pid {p.pid}: runnable, but not on the runqueue')
        if p.state is State.BLOCKED:
            on = p.waiting_on
            mine = on.queues if isinstance(on, WaitAny) else [on] if isinstance(on, WaitQueue) else []
            for q in mine:
                queues[id(q)] = q
                if p not in q.waiters:
                    out.append(f'pid {p.pid}: blocked on {q.name}, but not among its waiters')
    for q in queues.values():
        for w in q.waiters:
            if getattr(w, 'state', None) is None:
                continue                        # a boot-time waiter (proc/wait.run_boot)
            on = w.waiting_on
            if w.state is not State.BLOCKED:
                out.append(f'pid {w.pid}: on wait queue {q.name}, but {w.state.value}')
            elif on is not q and not (isinstance(on, WaitAny) and q in on.queues):
                out.append(f'pid {w.pid}: on wait queue {q.name}, but blocked on {on!r}')
    return out
