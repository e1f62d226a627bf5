"""Persistent objects through capabilities (seed 001, the monolithic-EROS step): the space
bank, page objects mapped by capability, nodes, revocation, persistence across boots."""

import struct
import subprocess
import sys

import pytest

from conftest import boot, GuestRun, ROOT
from kernel.obj.server import start_object_server
from kernel.proc.process import State


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


# -- the object server (microkernel EROS) ---------------------------------------------------

def boot_with_server(disk, **kw):
    kernel, out, log = boot(disk=disk, **kw)
    start_object_server(kernel, kernel.read_guest_file(b'/sbin/objsrv'))
    return kernel, out, log


def test_reading_1000_objects_upcalls_1000_times_then_never_while_cached(disk):
    kernel, out, log = boot_with_server(disk)
    p = kernel.spawn(kernel.read_guest_file(b'/tests/objmany'), [b'objmany', b'1000'], [])
    kernel.run()
    kernel.shutdown()
    assert '(objmany) end' in out.decode(), out.decode() + '\n'.join(log)
    assert kernel.vmstat['object_upcalls'] == 1000          # two passes, one upcall per object
    assert kernel.vmstat['object_writebacks'] == 1000       # and home again through the server


def page_values_on_disk(disk) -> list[int]:
    """The first word of every allocated page object in the image's store, sorted."""
    from kernel.obj.layout import ObjectKind
    from kernel.obj.store import ObjectStore, partition_device
    with partition_device(disk) as dev:
        store = ObjectStore.open(dev)
        pages = next(r for r in store.ranges if r.kind == ObjectKind.PAGE)
        return sorted(struct.unpack_from('<q', store.read_object(oid))[0]
                      for oid in range(pages.start_oid, pages.end_oid) if store.is_allocated(oid))


def test_what_the_server_wrote_back_is_on_the_disk(disk):
    kernel, out, log = boot_with_server(disk)
    kernel.spawn(kernel.read_guest_file(b'/tests/objmany'), [b'objmany', b'50'], [])
    kernel.run()
    kernel.shutdown()
    values = page_values_on_disk(disk)
    assert values == list(range(50))


def test_the_counter_survives_three_boots_through_the_object_server(disk):
    outs = []
    for _ in range(3):
        kernel, out, log = boot_with_server(disk)
        kernel.spawn(kernel.read_guest_file(b'/bin/objcount'), [b'objcount'], [])
        kernel.run()
        kernel.shutdown()
        outs.append(out.decode())
        assert kernel.vmstat['object_upcalls'] == 1
    assert outs == ['objcount: 1\n', 'objcount: 2\n', 'objcount: 3\n']


def test_the_servers_frames_stay_pinned_while_the_disk_dmas_into_them(disk):
    kernel, out, log = boot_with_server(disk)
    given, checked = set(), []

    def watch(e):
        if e.kind == 'object' and e.args.get('what') == 'frame for I/O':
            given.add(e.args['frame'])
        if e.kind == 'dma' and e.args['phase'] in ('issue', 'complete'):
            for f in e.args['frames']:
                if f in given:
                    checked.append(kernel.frames.pinned(int(f, 16)))
    kernel.trace.subscribe(watch)
    kernel.spawn(kernel.read_guest_file(b'/tests/objmany'), [b'objmany', b'20'], [])
    kernel.run()
    assert len(given) == 20
    assert len(checked) >= 40 and all(checked)


def test_no_livelock_when_many_processes_miss_at_once_with_memory_short(disk, tmp_path):
    """Six processes fault on objects together while free memory runs low: every upcall
    is served, and the server itself never faults (its resources are fixed and pinned)."""
    kernel, out, log = boot_with_server(disk, mem=8 << 20, swap=tmp_path / 'swap.img')
    server = kernel.objects.link.server
    low = [kernel.frames.free_count]
    server_faults = []

    def watch(e):
        low[0] = min(low[0], kernel.frames.free_count)
        if e.kind == 'fault' and e.pid == server.pid:
            server_faults.append(e)
    kernel.trace.subscribe(watch)
    prog = kernel.read_guest_file(b'/tests/objmany')
    procs = [kernel.spawn(prog, [b'objmany', b'220'], []) for _ in range(6)]
    kernel.run()
    kernel.shutdown()
    assert [p.exit_status for p in procs] == [0] * 6, out.decode()[-2000:]
    # one upcall per object, and one more for each clean page reclaim dropped and was read again
    dropped = kernel.vmstat['object_pages_dropped']
    assert 6 * 220 <= kernel.vmstat['object_upcalls'] <= 6 * 220 + dropped
    assert low[0] < kernel.frames.total // 4, low       # memory really was short
    assert server_faults == []


def test_a_call_through_an_endpoint_carries_words_and_a_capability(disk):
    r = run(disk, '/tests/ipc')
    assert '(ipc) end' in r.text and r.status == 0, r.text


def test_a_weak_capability_cannot_write_either(disk):
    r = run(disk, '/tests/objects', 'weak')
    assert 'mapping it writable is refused' in r.text
    assert r.status & 0x7F == 11


def test_objput_and_objcat_keep_text_across_boots(disk):
    assert run(disk, '/bin/objput', '3', 'hello, persistent world').status == 0
    assert run(disk, '/bin/objcat', '3').text == 'hello, persistent world\n'


def test_clean_object_pages_give_their_frames_back_when_memory_is_short(disk):
    kernel, out, log = boot_with_server(disk)
    kernel.spawn(kernel.read_guest_file(b'/tests/objmany'), [b'objmany', b'100'], [])
    kernel.run()
    cached = len(kernel.objects.pages)
    assert cached >= 100
    freed = kernel.objects.shrink(1000)        # what reclaim does under pressure
    assert freed >= 100 and len(kernel.objects.pages) == cached - freed


def stop_after_upcalls(kernel, p, most: int) -> None:
    """End the run once the server has been asked for more than `most` pages while p
    runs: a livelock asks for ever."""
    def check():
        if kernel.vmstat['object_upcalls'] > most:
            kernel.stop_requested = True
        elif p.state is not State.ZOMBIE:
            kernel.clock.schedule_in(10**7, check)
    kernel.clock.schedule_in(10**7, check)


def test_more_mapped_objects_than_memory_each_load_once_a_pass(disk):
    """1000 objects, all mapped at once, in 4 MiB of RAM: the object cache's clock unmaps
    clean pages from the process to make room, so each pass loads every object once
    (before, only the page just loaded could go, and was dropped before its faulter ran)."""
    kernel, out, log = boot_with_server(disk, mem=4 << 20)
    p = kernel.spawn(kernel.read_guest_file(b'/tests/objmany'), [b'objmany', b'1000'], [])
    stop_after_upcalls(kernel, p, 3500)
    kernel.run()
    assert p.exit_status == 0 and '(objmany) end' in out.decode(), out.decode()[-500:]
    assert kernel.vmstat['object_upcalls'] == 3000        # two reading passes, one writing
    assert kernel.vmstat['object_pages_dropped'] > 1000


def test_dirty_objects_are_not_dropped_when_memory_is_short(disk):
    """The writing pass dirties 1000 objects in 4 MiB: reclaim may only drop them once a
    checkpoint has written them, so every value is on the disk after shutdown."""
    kernel, out, log = boot_with_server(disk, mem=4 << 20)
    p = kernel.spawn(kernel.read_guest_file(b'/tests/objmany'), [b'objmany', b'1000'], [])
    stop_after_upcalls(kernel, p, 3500)
    kernel.run()
    kernel.shutdown()
    assert p.exit_status == 0, out.decode()[-500:]
    values = page_values_on_disk(disk)
    assert values == list(range(1000))


def test_the_clock_spares_a_page_loaded_for_a_fault_once(disk):
    """A page the server just loaded is not yet mapped by the process that faulted on it:
    the clock passes it once, so that process finds it when it runs again."""
    kernel, out, log = boot_with_server(disk)
    kernel.spawn(kernel.read_guest_file(b'/tests/objmany'), [b'objmany', b'10'], [])
    kernel.run()
    space = kernel.objects
    oldest, second = list(space.pages)[:2]
    space.loaded(oldest, space.pages.pop(oldest))        # as if it had just come in ...
    space.pages = {oldest: space.pages.pop(oldest), **space.pages}   # ... at the hand
    assert space.shrink(1) == 1
    assert oldest in space.pages and second not in space.pages


def run_for(kernel, ns: int) -> None:
    kernel.stop_requested = False
    kernel.clock.schedule_in(ns, lambda: setattr(kernel, 'stop_requested', True))
    kernel.run()


def test_the_clock_keeps_pages_touched_since_it_last_passed(disk):
    """/tests/objhot touches 20 objects once, then objects 1..4 over and over.  A first
    shrink finds every page touched, clears the Accessed bits and drops the oldest; after
    the program runs on, a second finds only the hot four touched again and drops the
    cold ones around them, though the hot ones are older."""
    kernel, out, log = boot_with_server(disk)
    kernel.spawn(kernel.read_guest_file(b'/tests/objhot'), [b'objhot', b'20', b'4'], [])
    run_for(kernel, 50_000_000)
    assert 'touching objects 1..4' in out.decode(), out.decode()
    space = kernel.objects
    order = list(space.pages)                      # load order: object 0, 1, 2, ...
    assert len(order) == 20
    assert space.shrink(1) == 1 and order[0] not in space.pages
    run_for(kernel, 10_000_000)
    assert space.shrink(15) == 15
    assert sorted(space.pages) == sorted(order[1:5])
