"""Futexes: the kernel half of user-space locks (mutexes, condition variables, joins).

A futex is a 32-bit word in user memory.  User code changes it with atomic instructions
and asks the kernel only to wait until the word is woken (FUTEX_WAIT, if it still holds the
expected value) or to wake waiters (FUTEX_WAKE).  The kernel keeps no state for a futex
but the waiters queued under its key: (address space, virtual address) for private memory;
for a shared mapping, what the page *is* -- the mapped file (a tmpfs file, a file in the
buffer cache) or System V segment and the page's place in it -- so that two processes
mapping the same page meet on the same key whatever addresses they map it at, and the key
stays the same when the page goes to swap and comes back in another frame.  Only shared
anonymous memory, which has no such object and is never swapped, is keyed by its physical
address.  A waiter is the object the waiting
system call yields (see proc/wait.py): the scheduler adds it to the table when the thread
blocks, a wake-up takes it out.

At a thread's death, its robust list (set_robust_list) names the futexes it holds: each is
marked FUTEX_OWNER_DIED and one waiter woken, so a robust mutex's next owner learns of it.
"""

import ctypes
import struct

from ..mm.pagetable import ADDR_MASK
from ..mm.frames import OutOfMemory, PAGE_SIZE
from ..mm.uaccess import BadAddress

FUTEX_WAITERS = 0x8000_0000
FUTEX_OWNER_DIED = 0x4000_0000
FUTEX_TID_MASK = 0x3FFF_FFFF
BITSET_MATCH_ANY = 0xFFFF_FFFF
ROBUST_LIST_LIMIT = 2048            # Linux's bound on a robust list's length (a loop ends)


class RobustListHead(ctypes.LittleEndianStructure):
    """struct robust_list_head (include/uapi/linux/futex.h)."""
    _pack_ = 1
    _fields_ = [('list', ctypes.c_uint64), ('futex_offset', ctypes.c_int64),
                ('list_op_pending', ctypes.c_uint64)]


assert ctypes.sizeof(RobustListHead) == 24


class Waiter:
    """One thread waiting on a futex; what its system call yields to block."""
    interruptible = True
    name = 'futex'

    def __init__(self, table: 'FutexTable', key, bitset: int):
        self.table = table
        self.key = key
        self.bitset = bitset
        self.proc = None
        self.woken = False

    def add(self, p) -> None:              # the scheduler blocks p on this waiter
        self.proc = p
        self.table.enqueue(self)

    def discard(self, p) -> None:          # a signal or the thread's death ends the wait
        self.table.remove(self)


class FutexTable:
    """Key -> the waiters queued on it, in arrival order (wake-ups are FIFO)."""

    def __init__(self, wake):
        self.wake_proc = wake              # the kernel's make-runnable function
        self.queues: dict = {}

    def enqueue(self, w: Waiter) -> None:
        self.queues.setdefault(w.key, []).append(w)

    def remove(self, w: Waiter) -> None:
        q = self.queues.get(w.key)
        if q and w in q:
            q.remove(w)
            if not q:
                del self.queues[w.key]

    def wake(self, key, n: int, bitset: int = BITSET_MATCH_ANY) -> int:
        """Wake up to n waiters on key whose bitset meets `bitset`; returns how many."""
        woken = 0
        for w in list(self.queues.get(key, ())):
            if woken >= n:
                break
            if w.bitset & bitset:
                self.remove(w)
                w.woken = True
                self.wake_proc(w.proc)
                woken += 1
        return woken

    def requeue(self, key, key2, n_wake: int, n_move: int) -> int:
        """Wake n_wake waiters on key and move up to n_move others to key2; returns both."""
        done = self.wake(key, n_wake)
        moved = 0
        for w in list(self.queues.get(key, ())):
            if moved >= n_move:
                break
            self.remove(w)
            w.key = key2
            self.enqueue(w)
            moved += 1
        return done + moved


# -- keys and words -------------------------------------------------------------------------
def key_of(k, p, addr: int, private: bool):
    """The futex key of addr in p's memory (raises BadAddress if it is not mapped)."""
    r = p.aspace.find(addr)
    if r is None:
        raise BadAddress(addr)
    if private or not r.shared:
        return ('mm', p.aspace, addr)
    k.user(p).read(addr, 4)                          # fault the page in if need be
    index, within = (addr - r.start) // PAGE_SIZE, addr % PAGE_SIZE
    if r.file is not None:
        cache = r.file.cache
        return ('file', getattr(cache, 'identity', cache), r.file.blocks[index], within)
    if r.shm is not None:
        segment, first = r.shm
        return ('shm', segment, first + index, within)
    pte = p.aspace.pt.lookup(addr)
    return ('phys', (pte & ADDR_MASK) | within)


def read_word(k, p, addr: int) -> int:
    return struct.unpack('<I', k.user(p).read(addr, 4))[0]


def write_word(k, p, addr: int, value: int) -> None:
    k.user(p).write(addr, struct.pack('<I', value & 0xFFFF_FFFF))


def wake_word(k, p, addr: int, n: int) -> int:
    """Wake n waiters of the futex at addr as a shared futex (CLONE_CHILD_CLEARTID)."""
    return k.futexes.wake(key_of(k, p, addr, private=False), n)


def wait(k, p, key, until: int | None, bitset: int):
    """A generator: block until woken (0) or until the virtual time `until` (ETIMEDOUT)."""
    w = Waiter(k.futexes, key, bitset)
    timer = None
    if until is not None:
        timer = k.clock.schedule(until, lambda: k.wake(w.proc) if w.proc is not None and
                                 w.proc.waiting_on is w else None)
    try:
        while True:
            if until is not None and k.clock.now >= until:
                return False
            yield w
            if w.woken:
                return True
            k.futexes.remove(w)                        # the timer woke it
    finally:
        k.futexes.remove(w)
        if timer is not None and k.clock.now < until:    # (not fired yet)
            k.clock.cancel(timer)


# -- robust futexes -----------------------------------------------------------------------------
def exit_robust_list(k, p) -> None:
    """Thread p is dying: mark each futex on its robust list as its owner's death, and
    wake one waiter of each.  A bad list ends the walk quietly (the thread is gone)."""
    head_addr, p.robust_list = p.robust_list, 0
    if not head_addr:
        return
    try:
        head = RobustListHead.from_buffer_copy(k.user(p).read(head_addr, ctypes.sizeof(RobustListHead)))
        entry = head.list & ~1
        for _ in range(ROBUST_LIST_LIMIT):
            if entry == head_addr or not entry:
                break
            nxt = k.user(p).read_u64(entry) & ~1
            if entry != head.list_op_pending & ~1:
                _owner_died(k, p, entry + head.futex_offset)
            entry = nxt
        if head.list_op_pending:
            _owner_died(k, p, (head.list_op_pending & ~1) + head.futex_offset)
    except (BadAddress, OutOfMemory):
        pass


def _owner_died(k, p, addr: int) -> None:
    word = read_word(k, p, addr)
    if word & FUTEX_TID_MASK != p.pid:
        return
    write_word(k, p, addr, (word & FUTEX_WAITERS) | FUTEX_OWNER_DIED)
    if word & FUTEX_WAITERS:
        wake_word(k, p, addr, 1)
