"""ukern's capability calls (userland/include/ukern.h): guests hold capabilities in their
c-list and name them by slot.

  ukern_cap_call(slot, msg)          invoke: msg->w[0] is the operation, w[1..] arguments;
                                     the result comes back in msg->w[0] (one copy each way)
  ukern_cap_map(slot, addr, prot)    map a page object at a page-aligned address
  ukern_cap_drop(slot)               empty a slot
  ukern_objsync()                    a checkpoint of every object; returns once it is
                                     committed (kernel/obj/checkpoint.py)

The work is done in kernel/obj/calls.py, with the object store's code, which is loaded
at the first capability call: most programs never make one, and loading the store's
modules would cost every `ukern run` about a twentieth of its start.
"""


def _calls():
    from ..obj import calls
    return calls


def sys_cap_call(k, p, slot: int, msg_addr: int):
    return (yield from _calls().cap_call(k, p, slot, msg_addr))


def sys_cap_map(k, p, slot: int, addr: int, prot: int) -> int:
    return _calls().cap_map(k, p, slot, addr, prot)


def sys_cap_drop(k, p, slot: int) -> int:
    return _calls().cap_drop(k, p, slot)


def sys_objsync(k, p):
    """A generator: returns once a checkpoint holding every change so far has committed."""
    return (yield from _calls().objsync(k, p))
