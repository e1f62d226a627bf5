"""Persistent objects through capabilities (seed 001, the monolithic-EROS step): the space
bank, page objects mapped by capability, nodes, revocation, persistence across boots."""

import struct
import subprocess
import sys

import pytest

from conftest import boot, GuestRun, ROOT


def run(disk, *argv, quota=None):
    kernel, out, log = boot(disk=disk)
    if quota is not None:
        kernel.objects.quota = kernel.objects.allocated + quota
    p = kernel.spawn(kernel.read_guest_file(argv[0].encode()), [a.encode() for a in argv], [])
    kernel.run()
    kernel.shutdown()
    return GuestRun(p.exit_status, bytes(out), log, kernel)


def test_a_persistent_counter_survives_three_boots(disk):
    outputs = [run(disk, '/bin/objcount').text for _ in range(3)]
    assert outputs == ['objcount: 1\n', 'objcount: 2\n', 'objcount: 3\n']


def test_two_processes_mapping_one_page_see_each_others_writes(disk):
    r = run(disk, '/tests/objects', 'share')
    assert '(objects) end' in r.text and r.status == 0, r.text


def test_a_read_only_capability_cannot_write(disk):
    r = run(disk, '/tests/objects', 'readonly')
    assert 'mapping it writable is refused' in r.text
    assert r.status & 0x7F == 11
    assert 'write to read-only 0x0000600000000000' in r.log[-1]


def test_a_revoked_capability_faults(disk):
    r = run(disk, '/tests/objects', 'revoke')
    assert 'mapping the revoked copy fails' in r.text
    assert r.status & 0x7F == 11
    assert 'access through a revoked capability' in r.log[-1]


def test_the_space_bank_quota_ends_with_a_clean_error(disk):
    r = run(disk, '/tests/objects', 'quota', quota=20)
    assert '(objects) end' in r.text, r.text
    assert 'allocated 19 more pages before the quota' in r.text


def test_the_counter_is_at_its_home_location_on_the_disk_after_shutdown(disk):
    """Read the image from the host: the root node's slot 0 names the page, which holds 2."""
    from kernel.obj.layout import CapType, ObjectKind
    from kernel.obj.store import ObjectStore, partition_device
    run(disk, '/bin/objcount')
    run(disk, '/bin/objcount')
    with partition_device(disk) as dev:
        store = ObjectStore.open(dev)
        root = next(r for r in store.ranges if r.kind == ObjectKind.NODE).start_oid
        cap = store.read_node(root).slots[0]
        assert cap.type == CapType.PAGE and store.is_current(cap)
        assert struct.unpack_from('<q', store.read_object(cap.oid))[0] == 2


def test_a_corrupt_object_store_header_is_refused_at_boot(disk):
    from kernel.tools.mkdisk import partition_offsets
    start = partition_offsets(disk)[1][0]
    with open(disk, 'r+b') as f:
        f.seek(start + 20)
        byte = f.read(1)
        f.seek(start + 20)
        f.write(bytes([byte[0] ^ 0xFF]))
    r = subprocess.run([sys.executable, '-m', 'kernel', 'run', '--disk', str(disk), '--swap', '0', '/bin/hello'],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode != 0
    assert 'object store in partition 2 refused: corrupt object-store header' in r.stderr, r.stderr
    assert 'Traceback' not in r.stderr
