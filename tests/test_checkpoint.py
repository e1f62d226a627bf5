"""Checkpoints of the object store (kernel/obj/log.py, checkpoint.py): recovery is exactly
the last committed checkpoint, every structure read from the store is checked, `ukern
objstore check` finds damage, and a power cut at any disk command leaves a consistent store
no older than what was committed (a sample here; the whole sweep: make crash-objects)."""

import struct
import subprocess
import sys
import zlib

import pytest

from conftest import ROOT, boot
from kernel.obj import checkpoint as objcheckpoint
from kernel.obj import log
from kernel.obj import store as objstore
from kernel.obj.layout import SECTOR_SIZE, CapType, ObjectKind, ObjectStoreError, Rights
from kernel.obj.server import start_object_server
from kernel.obj.store import FileSectorDevice
from kernel.tools import objstore as objstore_tool
from kernel.tools.mkdisk import partition_offsets

sys.path.insert(0, str(ROOT / 'bench'))
import objcrash                                   # noqa: E402

STORE_SECTORS = 4096


@pytest.fixture
def image(tmp_path):
    path = tmp_path / 'store.img'
    path.write_bytes(bytes(STORE_SECTORS * SECTOR_SIZE))
    with FileSectorDevice(path) as dev:
        objstore.format(dev, STORE_SECTORS, 100, 50)
    return path


def page(value: int) -> bytes:
    return struct.pack('<q', value) + bytes(4088)


def value_of(store, oid) -> int:
    return struct.unpack_from('<q', store.read_object(oid))[0]


def flip(path, offset: int) -> None:
    with open(path, 'r+b') as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x5A]))


# -- recovery ----------------------------------------------------------------------------------

def test_a_committed_checkpoint_not_yet_home_is_replayed_at_open(image):
    with FileSectorDevice(image) as dev:
        store = objstore.open(dev)
        oid = store.allocate(ObjectKind.PAGE)
        store.write_object(oid, page(1))
        store.autocommit = False
        plan = store.plan_checkpoint([(oid, zlib.crc32(page(2)), page(2))])
        for entry in plan.entries:
            dev.write(entry.log_lba, entry.data)
        store.write_commit(plan)                 # the power fails before migration
        home = store.locate(oid)[1]
        assert dev.read(home, 8) == page(1)
    with FileSectorDevice(image) as dev:
        again = objstore.open(dev)
        assert again.sequence == plan.sequence and value_of(again, oid) == 2
        assert dev.read(home, 8) == page(2)      # copied home by recovery


def test_a_torn_log_tail_without_its_commit_record_is_discarded(image):
    with FileSectorDevice(image) as dev:
        store = objstore.open(dev)
        oid = store.allocate(ObjectKind.PAGE)
        store.write_object(oid, page(1))
        committed = store.sequence
        store.autocommit = False
        store.allocate(ObjectKind.PAGE)          # a map change too
        plan = store.plan_checkpoint([(oid, zlib.crc32(page(2)), page(2))])
        for entry in plan.entries:
            dev.write(entry.log_lba, entry.data)
        dev.write(plan.directory_lba, plan.directory)   # no commit record: the cut came first
    with FileSectorDevice(image) as dev:
        again = objstore.open(dev)
        assert again.sequence == committed and value_of(again, oid) == 1
        assert again.stats().in_use[ObjectKind.PAGE] == 1


def test_checkpoints_alternate_halves_and_the_sequence_grows(image):
    with FileSectorDevice(image) as dev:
        store = objstore.open(dev)
        first = store.sequence
        oid = store.allocate(ObjectKind.PAGE)
        store.write_object(oid, page(7))
        assert store.sequence == first + 2
        header = store.header
        records = [log.valid_record(dev.read(header.checkpoint_lba + h * log.half_sectors(header.checkpoint_sectors), 1),
                                    h, header.checkpoint_sectors) for h in (0, 1)]
        assert sorted(r.sequence for r in records) == [first + 1, first + 2]


def test_a_log_entry_naming_another_home_is_refused_before_anything_is_copied(image):
    """Its CRCs are right, but it would write a page over the maps: nothing is replayed."""
    with FileSectorDevice(image) as dev:
        store = objstore.open(dev)
        oid = store.allocate(ObjectKind.PAGE)
        header = store.header
        good = log.Entry(log.EntryKind.PAGE, oid, store.locate(oid)[1], 8, zlib.crc32(page(6)), page(6))
        bad = log.Entry(log.EntryKind.PAGE, oid, header.map_lba, 8, zlib.crc32(page(6)), page(6))
        plan = log.build(header.checkpoint_lba, header.checkpoint_sectors, store.sequence + 1,
                         [good, bad], zlib.crc32(store.maps))
        for entry in plan.entries:
            dev.write(entry.log_lba, entry.data)
        dev.write(plan.directory_lba, plan.directory)
        dev.write(plan.half_lba, plan.record)
        before = image.read_bytes()
    with pytest.raises(ObjectStoreError, match='log entry 1: page .* is not where that object lives'):
        objstore.open(FileSectorDevice(image))
    assert image.read_bytes() == before


# -- every structure is checked ------------------------------------------------------------------

def damaged_store(image, where: str):
    """A store with a page (value 5) and a node holding a capability to it; then one
    structure damaged on the disk.  (Damage to what the last checkpoint's log holds is
    repaired by recovery, which copies the log home again.)"""
    with FileSectorDevice(image) as dev:
        store = objstore.open(dev)
        oid = store.allocate(ObjectKind.PAGE)
        store.write_object(oid, page(5))
        node = store.allocate(ObjectKind.NODE)
        record = store.read_node(node)
        record.slots[0] = store.capability(oid)
        store.write_object(node, bytes(record))
        store.allocate(ObjectKind.PAGE)          # one more checkpoint: the two are only at home
        header, pages = store.header, store.ranges[1]      # (the last log has no node maps)
        half = log.half_lba(header.checkpoint_lba, header.checkpoint_sectors, store.sequence)
        offset = {'bitmap': pages.bitmap_lba * SECTOR_SIZE,
                  'versions': pages.versions_lba * SECTOR_SIZE + 1,
                  'checksums': pages.sums_lba * SECTOR_SIZE + 2,
                  'page': store.locate(oid)[1] * SECTOR_SIZE + 100,
                  'node': store.locate(node)[1] * SECTOR_SIZE + 16,
                  'commit record': half * SECTOR_SIZE + 12,
                  'log directory': (half + 1) * SECTOR_SIZE + 4,
                  'log data': (half + 2) * SECTOR_SIZE + 30}[where]
    flip(image, offset)
    return oid, node


@pytest.mark.parametrize('where, why', [
    ('bitmap', 'corrupt allocation maps'),
    ('versions', 'corrupt allocation maps'),
    ('checksums', 'corrupt allocation maps'),
    ('log directory', 'log directory does not match'),
    ('log data', 'fails its checksum'),
    ('commit record', 'the commit record in half . of the checkpoint area is damaged'),
])
def test_damaged_metadata_is_refused_at_open(image, where, why):
    damaged_store(image, where)
    with pytest.raises(ObjectStoreError, match=why):
        objstore.open(FileSectorDevice(image))


def test_a_damaged_page_or_node_fails_its_read(image):
    oid, node = damaged_store(image, 'page')
    store = objstore.open(FileSectorDevice(image))
    with pytest.raises(ObjectStoreError, match=f'page {oid:#x} fails its checksum'):
        store.read_object(oid)
    assert store.read_node(node).slots[0].oid == oid


def test_a_damaged_node_fails_its_read(image):
    oid, node = damaged_store(image, 'node')
    with pytest.raises(ObjectStoreError, match=f'node {node:#x} fails its checksum'):
        objstore.open(FileSectorDevice(image)).read_node(node)


def check(path, capsys):
    status = objstore_tool.check_store(path, partition=2)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def disk_with_store(tmp_path):
    from kernel.tools.mkdisk import make_disk
    path = tmp_path / 'disk.img'
    make_disk(path, None, 16 << 20, objects=64)
    return path


def test_objstore_check_passes_a_good_store_and_names_the_checkpoint(tmp_path, capsys):
    disk = disk_with_store(tmp_path)
    with objstore.partition_device(disk) as dev:
        store = objstore.open(dev)
        oid = store.allocate(ObjectKind.PAGE)
        store.write_object(oid, page(3))
        sequence = store.sequence
    status, out, err = check(disk, capsys)
    assert status == 0 and err == ''
    assert f'consistent: committed checkpoint {sequence} (2 log entries, 0 not yet home' in out
    with objstore.partition_device(disk) as dev:                  # committed, then the cut
        store = objstore.open(dev, autocommit=False)
        plan = store.plan_checkpoint([(oid, zlib.crc32(page(4)), page(4))])
        for entry in plan.entries:
            dev.write(entry.log_lba, entry.data)
        store.write_commit(plan)
    status, out, err = check(disk, capsys)
    assert status == 0 and err == ''
    assert f'consistent: committed checkpoint {sequence + 1} (2 log entries, 2 not yet home' in out


def test_objstore_check_reports_each_problem_in_one_line(tmp_path, capsys):
    disk = disk_with_store(tmp_path)
    with objstore.partition_device(disk) as dev:
        store = objstore.open(dev)
        a = store.allocate(ObjectKind.PAGE)
        b = store.allocate(ObjectKind.PAGE)
        node = store.allocate(ObjectKind.NODE)
        record = store.read_node(node)
        future = store.capability(a)
        future.version += 3                                        # a capability from the future
        record.slots[1] = future
        record.slots[2] = store.capability(b, Rights.READ_ONLY)
        record.slots[2].type = CapType.NODE                        # a node capability to a page
        store.write_object(node, bytes(record))
        home = partition_offsets(disk)[1][0] + store.locate(b)[1] * SECTOR_SIZE
    flip(disk, home + 7)                                           # and page b is damaged
    status, out, err = check(disk, capsys)
    lines = err.strip().splitlines()
    assert status == 1 and '3 problems' in out, out + err
    assert any('slot 1: capability version 3 is newer' in line for line in lines)
    assert any(f'slot 2: a node capability to page {b:#x}' in line for line in lines)
    assert any(f'page {b:#x} fails its checksum' in line for line in lines)
    assert subprocess.run([sys.executable, '-m', 'kernel', 'objstore', 'check', str(disk)],
                          capture_output=True, cwd=ROOT).returncode == 1


# -- in the kernel ------------------------------------------------------------------------------

def run_objcount(disk, *program):
    r = subprocess.run([sys.executable, '-m', 'kernel', 'run', '--disk', str(disk), '--swap', '0',
                        *(program or ['/bin/objcount'])], capture_output=True, text=True, cwd=ROOT,
                       timeout=120)
    assert 'Traceback' not in r.stderr, r.stderr
    return r


def count_then_change_other_objects(disk):
    """objcount once; then objput twice, so the last checkpoint's log holds neither the
    counter page nor the root node (recovery would copy those home again, repairing them)."""
    assert run_objcount(disk).stdout == 'objcount: 1\n'
    for text in ('one', 'two'):
        assert run_objcount(disk, '/bin/objput', '3', text).returncode == 0


def counter_page(disk):
    with objstore.partition_device(disk, readonly=True) as dev:
        store = objstore.open(dev, replay=False)
        root = next(r for r in store.ranges if r.kind == ObjectKind.NODE).start_oid
        return store, root, store.read_node(root).slots[0].oid


def test_a_damaged_counter_page_gives_sigbus_with_one_line_not_a_traceback(disk):
    count_then_change_other_objects(disk)
    store, _, oid = counter_page(disk)
    flip(disk, partition_offsets(disk)[1][0] + store.locate(oid)[1] * SECTOR_SIZE + 8)
    r = run_objcount(disk)
    assert r.returncode == 128 + 7, r.stderr                           # SIGBUS
    assert f'ukern: object store: page {oid:#x} fails its checksum' in r.stderr


def test_a_damaged_root_node_gives_eio_to_the_call(disk):
    count_then_change_other_objects(disk)
    store, root, _ = counter_page(disk)
    flip(disk, partition_offsets(disk)[1][0] + store.locate(root)[1] * SECTOR_SIZE + 40)
    r = run_objcount(disk)
    assert r.returncode == 1 and 'objcount: cannot make the counter' in r.stderr, r.stderr
    assert f'node {root:#x} fails its checksum' in r.stderr


def test_damaged_maps_stop_the_boot_with_one_line(disk):
    assert run_objcount(disk).returncode == 0
    store, _, _ = counter_page(disk)
    flip(disk, partition_offsets(disk)[1][0] + store.ranges[0].versions_lba * SECTOR_SIZE + 3)
    r = run_objcount(disk)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        r.stderr.strip().splitlines()[0]] and 'corrupt allocation maps' in r.stderr, r.stderr


def test_a_page_written_while_its_checkpoint_is_in_flight_is_copied_for_the_writer(disk):
    """Capture holds the frame (write-protected, not copied); a write then gives the object a
    copy, and the checkpoint writes the captured frame, which keeps the captured contents."""
    kernel, out, log_lines = boot(disk=disk)
    start_object_server(kernel, kernel.read_guest_file(b'/sbin/objsrv'))
    kernel.spawn(kernel.read_guest_file(b'/tests/objcrash'), [b'objcrash', b'1'], [])
    kernel.run()
    objects, memory = kernel.objects, kernel.machine.memory
    oid, frame = next(iter(objects.pages.items()))
    objects.mark_dirty(oid)
    copies = kernel.vmstat['checkpoint_cow_copies']
    target = objects.checkpoints.request()
    kernel.run_until(lambda: objects.checkpoints.current is not None)   # the capture's event
    assert objects.checkpoints.held == {oid: frame}               # captured: no copy made
    assert kernel.vmstat['checkpoint_cow_copies'] == copies
    captured = memory.read(frame, 4096)
    copy = objects.checkpoints.copy_for_writer(oid, frame)        # the writer's fault
    assert copy != frame and objects.pages[oid] == copy and objects.checkpoints.held[oid] == frame
    assert kernel.vmstat['checkpoint_cow_copies'] == copies + 1
    memory.write(copy, b'new!')
    kernel.run()                                                  # the server writes log, home
    assert objects.checkpoints.committed >= target and not objects.checkpoints.held
    with objstore.partition_device(disk, readonly=True) as dev:
        store = objstore.open(dev, replay=False)
        assert store.read_object(oid) == captured                 # the captured contents
    kernel.shutdown()


def test_a_page_under_dma_when_the_checkpoint_begins_is_saved_with_its_new_contents(disk):
    """The capture waits until no dirty page is I/O-pinned, then takes everything at that
    instant: the page's contents after the transfer, never a mix."""
    kernel, out, log_lines = boot(disk=disk)
    start_object_server(kernel, kernel.read_guest_file(b'/sbin/objsrv'))
    kernel.spawn(kernel.read_guest_file(b'/tests/objcrash'), [b'objcrash', b'1'], [])
    kernel.run()
    objects, memory, frames = kernel.objects, kernel.machine.memory, kernel.frames
    oid, frame = next(iter(objects.pages.items()))
    objects.mark_dirty(oid)
    frames.pin(frame)                                   # a device is writing into it
    memory.write(frame, b'half')
    target = objects.checkpoints.request()
    start = kernel.clock.now
    kernel.run_until(lambda: kernel.clock.now > start)            # it tried, twice: put off
    assert objects.checkpoints.held == {} and objects.checkpoints.current is None
    kernel.clock.schedule_in(objcheckpoint.RETRY_NS * 3, lambda: (memory.write(frame, b'done'),
                                                                  frames.unpin(frame)))
    kernel.run()                                        # the retries, then the checkpoint
    assert objects.checkpoints.committed >= target
    with objstore.partition_device(disk, readonly=True) as dev:
        assert objstore.open(dev, replay=False).read_object(oid)[:4] == b'done'
    kernel.shutdown()


def test_periodic_checkpoints_while_objcrash_runs_end_consistent(disk):
    kernel, out, log_lines = boot(disk=disk)
    kernel.objects.checkpoints.period_ns = 2_000_000
    start_object_server(kernel, kernel.read_guest_file(b'/sbin/objsrv'))
    p = kernel.spawn(kernel.read_guest_file(b'/tests/objcrash'), [b'objcrash', b'3'], [])
    kernel.run()
    kernel.shutdown()
    assert p.exit_status == 0 and 'committed 3' in out.decode(), out.decode()
    assert kernel.objects.checkpoints.taken >= 4
    assert kernel.vmstat['checkpoint_cow_copies'] > 0       # the counter page, written on
    problems, word, pages = objcrash.recovered_state(disk)
    assert problems == [] and word == 3 * 1000 + 256 and pages == [3] * 256


# -- the crash sweep, a sample ------------------------------------------------------------------

@pytest.fixture(scope='module')
def pristine(tmp_path_factory, master_image):
    work = tmp_path_factory.mktemp('objcrash')
    return objcrash.make_pristine(master_image, work / 'pristine.img')


def test_power_cuts_leave_a_consistent_store_no_older_than_committed(pristine, tmp_path):
    """16 cuts spread over the run's transfers, boot to shutdown (the whole sweep: make
    crash-objects); about 25 s on a quiet machine.  Most of the transfers are the object
    store's, issued by /sbin/objsrv on its own controller."""
    image, transfers, store_transfers = pristine
    assert store_transfers >= 200 and store_transfers > transfers // 2
    cuts = sorted({1 + (transfers - 1) * i // 15 for i in range(16)})
    failures = []
    for n in cuts:
        failures += objcrash.check_cut(image, tmp_path / 'cut.img', n)
    assert failures == []
    assert sum(n in objcrash.STORE_CUTS for n in cuts) >= len(cuts) // 2   # in objsrv's commands


def test_a_cut_by_ukern_run_power_fail_recovers_the_same_way(pristine, tmp_path):
    image, transfers, _ = pristine
    assert objcrash.check_cut(image, tmp_path / 'cut.img', transfers // 2, cli=True) == []
