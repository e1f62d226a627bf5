"""The swap area's slot allocator (kernel/mm/swap.py): a byte map of free slots searched
lowest first, reference counts only for slots in use."""

from types import SimpleNamespace

from kernel.mm.swap import SwapArea

SECTOR = 512


def area(slots: int) -> SwapArea:
    disk = SimpleNamespace(sector_size=SECTOR)
    return SwapArea(kernel=None, disk=disk, start_lba=0, nsectors=slots * 4096 // SECTOR)


def test_slots_are_handed_out_lowest_first_and_slot_0_never():
    a = area(6)
    assert a.free_slots == 5
    assert [a.alloc() for _ in range(5)] == [1, 2, 3, 4, 5]
    assert a.free_slots == 0


def test_a_full_area_says_none_and_a_release_makes_room():
    a = area(4)
    taken = [a.alloc() for _ in range(3)]
    assert a.alloc() is None
    a.release(taken[1])
    assert a.free_slots == 1
    assert a.alloc() == taken[1]
    assert a.alloc() is None


def test_freed_holes_are_filled_lowest_first():
    a = area(10)
    for _ in range(9):
        a.alloc()
    for slot in (7, 3, 5):
        a.release(slot)
    assert [a.alloc() for _ in range(3)] == [3, 5, 7]
    assert a.alloc() is None


def test_a_shared_slot_is_free_only_after_its_last_release():
    a = area(3)
    slot = a.alloc()
    a.share(slot)
    a.share(slot)
    a.release(slot)
    a.release(slot)
    assert a.free_slots == 1 and slot in a.refs
    a.release(slot)
    assert a.free_slots == 2 and slot not in a.refs
    assert a.alloc() == slot


def test_the_host_pays_a_byte_per_slot_not_an_object():
    a = area(1 << 19)                      # a 2 GiB area
    assert len(a._free_map) == 1 << 19
    assert a.refs == {}
    assert a.alloc() == 1 and len(a.refs) == 1


def test_an_area_too_small_for_one_slot_has_none():
    a = area(1)
    assert a.free_slots == 0
    assert a.alloc() is None
