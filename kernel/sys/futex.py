"""The futex system call and the robust-list calls (the waiting itself: proc/futex.py).

futex(uaddr, op, val, timeout, uaddr2, val3) as Linux defines it
(include/uapi/linux/futex.h): the low bits of op name the operation, FUTEX_PRIVATE_FLAG
says only this process uses the word, FUTEX_CLOCK_REALTIME that an absolute timeout is on
the wall clock.  For the requeue operations and FUTEX_WAKE_OP the `timeout` argument is a
count (val2), as in Linux.  Timeouts are on the kernel's virtual clock.
"""

import enum
import struct

from ..errno import Errno
from ..proc import futex
from ..proc.process import State
from .args import s32
from .time import EPOCH_NS

FUTEX_PRIVATE_FLAG = 128
FUTEX_CLOCK_REALTIME = 256
FUTEX_CMD_MASK = ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
ROBUST_HEAD_SIZE = 24
NS = 10**9


class Op(enum.IntEnum):
    WAIT = 0
    WAKE = 1
    REQUEUE = 3
    CMP_REQUEUE = 4
    WAKE_OP = 5
    WAIT_BITSET = 9
    WAKE_BITSET = 10


class WakeOp(enum.IntEnum):
    """FUTEX_WAKE_OP's operation on *uaddr2 (bits 28-30 of val3; bit 31: oparg is a shift)."""
    SET = 0
    ADD = 1
    OR = 2
    ANDN = 3
    XOR = 4


class WakeCmp(enum.IntEnum):
    """FUTEX_WAKE_OP's test of the old *uaddr2 (bits 24-27 of val3)."""
    EQ = 0
    NE = 1
    LT = 2
    LE = 3
    GT = 4
    GE = 5


FUTEX_OP_OPARG_SHIFT = 8


def sys_futex(k, p, uaddr: int, op: int, val: int, timeout: int, uaddr2: int, val3: int):
    cmd = op & FUTEX_CMD_MASK
    private = bool(op & FUTEX_PRIVATE_FLAG)
    if op & FUTEX_CLOCK_REALTIME and cmd not in (Op.WAIT, Op.WAIT_BITSET):
        return -Errno.ENOSYS
    if uaddr & 3:
        return -Errno.EINVAL
    val, val3 = val & 0xFFFF_FFFF, val3 & 0xFFFF_FFFF
    if cmd in (Op.WAIT, Op.WAIT_BITSET):
        bitset = futex.BITSET_MATCH_ANY if cmd == Op.WAIT else val3
        if not bitset:
            return -Errno.EINVAL
        until = _deadline(k, p, timeout, absolute=cmd == Op.WAIT_BITSET,
                          realtime=bool(op & FUTEX_CLOCK_REALTIME))
        if isinstance(until, int) and until < 0:
            return until
        key = futex.key_of(k, p, uaddr, private)
        if futex.read_word(k, p, uaddr) != val:
            return -Errno.EAGAIN
        woken = yield from futex.wait(k, p, key, None if until is False else until, bitset)
        return 0 if woken else -Errno.ETIMEDOUT
    if cmd in (Op.WAKE, Op.WAKE_BITSET):
        bitset = futex.BITSET_MATCH_ANY if cmd == Op.WAKE else val3
        if not bitset:
            return -Errno.EINVAL
        return k.futexes.wake(futex.key_of(k, p, uaddr, private), s32(val) & 0x7FFF_FFFF, bitset)
    if cmd in (Op.REQUEUE, Op.CMP_REQUEUE):
        return _requeue(k, p, uaddr, uaddr2, private, val, timeout, val3 if cmd == Op.CMP_REQUEUE else None)
    if cmd == Op.WAKE_OP:
        return _wake_op(k, p, uaddr, uaddr2, private, val, timeout, val3)
    return -Errno.ENOSYS


def _deadline(k, p, timeout: int, absolute: bool, realtime: bool):
    """The virtual time a wait ends at, False for none, or a negative errno."""
    if not timeout:
        return False
    sec, nsec = struct.unpack('<qq', k.user(p).read(timeout, 16))
    if sec < 0 or not 0 <= nsec < NS:
        return -Errno.EINVAL
    ns = sec * NS + nsec
    if not absolute:
        return k.clock.after(ns)
    return k.clock.clamp(max(0, ns - (EPOCH_NS if realtime else 0)))


def _requeue(k, p, uaddr: int, uaddr2: int, private: bool, n_wake: int, n_move: int, expect):
    if uaddr2 & 3:
        return -Errno.EINVAL
    if s32(n_wake) < 0 or s32(n_move) < 0:
        return -Errno.EINVAL
    key, key2 = futex.key_of(k, p, uaddr, private), futex.key_of(k, p, uaddr2, private)
    if expect is not None and futex.read_word(k, p, uaddr) != expect:
        return -Errno.EAGAIN
    return k.futexes.requeue(key, key2, n_wake, n_move & 0x7FFF_FFFF)


def _wake_op(k, p, uaddr: int, uaddr2: int, private: bool, n1: int, n2: int, encoded: int):
    """Change *uaddr2 as `encoded` says, wake n1 waiters of uaddr, and n2 of uaddr2 if the
    old value of *uaddr2 passes the encoded test (glibc's condition variables of old)."""
    if uaddr2 & 3:
        return -Errno.EINVAL
    op, cmp = (encoded >> 28) & 0xF, (encoded >> 24) & 0xF
    oparg, cmparg = _sext12(encoded >> 12), _sext12(encoded)
    if op & FUTEX_OP_OPARG_SHIFT:
        oparg = 1 << (oparg & 31)
        op &= ~FUTEX_OP_OPARG_SHIFT
    if op not in WakeOp._value2member_map_ or cmp not in WakeCmp._value2member_map_:
        return -Errno.ENOSYS
    key, key2 = futex.key_of(k, p, uaddr, private), futex.key_of(k, p, uaddr2, private)
    old = futex.read_word(k, p, uaddr2)
    futex.write_word(k, p, uaddr2, _apply(WakeOp(op), old, oparg))
    woken = k.futexes.wake(key, n1 & 0x7FFF_FFFF)
    if _test(WakeCmp(cmp), s32(old), cmparg):
        woken += k.futexes.wake(key2, n2 & 0x7FFF_FFFF)
    return woken


def _sext12(x: int) -> int:
    x &= 0xFFF
    return x - 0x1000 if x & 0x800 else x


def _apply(op: WakeOp, old: int, arg: int) -> int:
    if op is WakeOp.SET:
        return arg
    if op is WakeOp.ADD:
        return old + arg
    if op is WakeOp.OR:
        return old | arg
    if op is WakeOp.ANDN:
        return old & ~arg
    return old ^ arg


def _test(cmp: WakeCmp, old: int, arg: int) -> bool:
    return {WakeCmp.EQ: old == arg, WakeCmp.NE: old != arg, WakeCmp.LT: old < arg,
            WakeCmp.LE: old <= arg, WakeCmp.GT: old > arg, WakeCmp.GE: old >= arg}[cmp]


# -- robust lists ---------------------------------------------------------------------------------
def sys_set_robust_list(k, p, head: int, length: int) -> int:
    if length != ROBUST_HEAD_SIZE:
        return -Errno.EINVAL
    p.robust_list = head
    return 0


def sys_get_robust_list(k, p, pid: int, head_ptr: int, len_ptr: int) -> int:
    t = p if not s32(pid) else k.procs.get(s32(pid))
    if t is None or t.state is State.ZOMBIE:
        return -Errno.ESRCH
    k.user(p).write_u64(head_ptr, t.robust_list)
    k.user(p).write_u64(len_ptr, ROBUST_HEAD_SIZE)
    return 0
