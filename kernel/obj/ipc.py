"""Endpoints: synchronous calls between processes, EROS call/return style.

  call(ep, msg)   the caller's message goes straight to a server waiting on ep (or the
                  caller waits for one); the caller then sleeps until the reply
  wait(ep, msg)   a server takes the next caller's message into its buffer
  reply(msg)      the server's answer goes straight into the caller's buffer; it wakes

A message is eight words; word 7 may name a capability slot to pass along (-1 for none),
which arrives installed in a free slot of the receiver's c-list.  Each message is copied
once, from one process's memory to the other's: the kernel buffers nothing.
"""

import struct
from dataclasses import dataclass, field

from ..errno import Errno
from ..proc.wait import WaitQueue

MSG = struct.Struct('<8q')
CAP_WORD = 7


@dataclass(eq=False)
class Endpoint:
    """An endpoint object: callers waiting to be served and servers waiting for them."""
    callers: list = field(default_factory=list)           # (process, message address), waiting
    servers: WaitQueue = field(default_factory=lambda: WaitQueue('endpoint receive', interruptible=True))


@dataclass(eq=False)
class Call:
    """One call through an endpoint, until its reply."""
    replied: bool = False
    result: int = 0
    waiters: WaitQueue = field(default_factory=lambda: WaitQueue('endpoint reply', interruptible=True))


def _move(k, src, src_addr: int, dst, dst_addr: int, install) -> list[int]:
    """Copy a message from one process to another, passing its capability along."""
    words = list(MSG.unpack(k.user(src).read(src_addr, MSG.size)))
    slot = words[CAP_WORD]
    if 0 <= slot < len(src.caps) and src.caps[slot] is not None:
        words[CAP_WORD] = install(dst, src.caps[slot])
    else:
        words[CAP_WORD] = -1
    k.user(dst).write(dst_addr, MSG.pack(*words))
    return words


def call(k, p, ep: Endpoint, msg_addr: int, install):
    """A generator: returns the server's reply word 0 (also written into the caller's msg)."""
    pending = Call()
    ep.callers.append((p, msg_addr, pending))
    ep.servers.wake_all(k.wake)
    while not pending.replied:
        yield pending.waiters
    return pending.result


def wait(k, p, ep: Endpoint, msg_addr: int, install):
    """A generator: the next caller's message into msg_addr; returns its word 0."""
    while not ep.callers:
        yield ep.servers
    caller, caller_addr, pending = ep.callers.pop(0)
    words = _move(k, caller, caller_addr, p, msg_addr, install)
    p.reply_to = (caller, caller_addr, pending)
    return words[0]


def reply(k, p, msg_addr: int, install) -> int:
    target = getattr(p, 'reply_to', None)
    if target is None:
        return -Errno.EINVAL
    caller, caller_addr, pending = target
    p.reply_to = None
    if caller.state.value == 'zombie':
        return -Errno.ESRCH
    words = _move(k, p, msg_addr, caller, caller_addr, install)
    pending.replied, pending.result = True, words[0]
    pending.waiters.wake_all(k.wake)
    return 0
