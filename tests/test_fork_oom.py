"""fork with no frame left for the child's page tables fails with OutOfMemory (ENOMEM to
the caller) and leaves nothing of the half-made child behind: no reverse-map entry naming
an address space nobody has, no frame reference, no held file (the books fixture checks)."""

import pytest

from conftest import boot
from kernel.mm.frames import OutOfMemory


def test_fork_without_memory_leaves_no_half_made_child(userland):
    k, _, _ = boot()
    p = k.spawn((userland / 'tests/fork_cow').read_bytes(), [b'fork_cow'], [])
    free = k.frames.free_count
    refs = {f: k.frames.refs(f) for f in k.frames.rmap.frames()}
    hoard = [k.frames.alloc() for _ in range(free - 2)]      # room for two table pages only
    with pytest.raises(OutOfMemory):
        p.aspace.fork()
    for f in hoard:
        k.frames.release(f)
    assert k.frames.free_count == free
    assert {f: k.frames.refs(f) for f in k.frames.rmap.frames()} == refs
    assert all(aspace is p.aspace for f in k.frames.rmap.frames() for aspace, _ in k.frames.rmap.mappers(f))
