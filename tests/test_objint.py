"""Checkpoints written by the ring-3 object server (issue #17: kernel/obj/checkpoint.py on
kernel/obj/disk.py and server.py).

The kernel issues no command to the store's disk; /sbin/objsrv writes every sector of a
checkpoint.  The store's writes go behind, so "committed" must wait for the server: a
checkpoint counts as committed only once its commit record is on the disk.  When the disk
refuses the log, or the server dies mid-checkpoint, checkpoints stop with EIO instead of
hanging or claiming a commit, and the disk keeps the last committed checkpoint.
"""

import sys

from conftest import ROOT, boot
from kernel.obj import store as objstore
from kernel.trap import Signal

sys.path.insert(0, str(ROOT / 'bench'))
import objcrash                                   # noqa: E402


def sequence_on_disk(disk) -> int:
    with objstore.partition_device(disk, readonly=True) as dev:
        return objstore.open(dev, replay=False).sequence


def start_objcrash(disk, rounds: int):
    kernel, out, log = boot(disk=disk)
    kernel.objects.checkpoints.period_ns = objcrash.CHECKPOINT_MS * 1_000_000
    p = kernel.spawn(kernel.read_guest_file(b'/tests/objcrash'), [b'objcrash', str(rounds).encode()], [])
    return kernel, out, log, p


def test_a_checkpoint_counts_as_committed_only_once_its_record_is_on_the_disk(disk):
    kernel, out, log, p = start_objcrash(disk, 2)
    checkpoints = kernel.objects.checkpoints
    seen = []
    committed_now = checkpoints._committed_now

    def look_at_the_disk(ok):                 # at the instant the kernel counts it committed
        committed_now(ok)
        seen.append((checkpoints.committed, sequence_on_disk(disk)))
    checkpoints._committed_now = look_at_the_disk
    kernel.run()
    kernel.shutdown()
    assert p.exit_status == 0 and 'committed 2' in out.decode(), out.decode()
    assert len(seen) >= 3
    assert all(on_disk == committed for committed, on_disk in seen), seen


def test_a_log_the_disk_refuses_stops_checkpoints_with_eio_and_keeps_the_last_commit(disk):
    kernel, out, log, p = start_objcrash(disk, 1)
    kernel.run()
    assert 'committed 1' in out.decode()
    before = sequence_on_disk(disk)
    header = kernel.objects.store.header
    store_disk = kernel.machine.store_ahci.ports[0].disk
    store_disk.bad_ranges = [(header.checkpoint_lba, header.checkpoint_sectors)]
    again = kernel.spawn(kernel.read_guest_file(b'/tests/objcrash'), [b'objcrash', b'1'], [])
    kernel.run()
    assert not kernel.deadlocked and again.state.value == 'zombie'
    assert 'committed 2' not in out.decode()             # no commit claimed
    assert any('ukern: object store: checkpoints stopped' in line for line in log), log
    # Its changes pile up with no checkpoint to take them: once the log could not hold
    # one more, its next write to a clean page is refused (SIGBUS) rather than waited on.
    assert again.exit_status in (0, 128 + 7) or again.exit_status == 7, again.exit_status
    store_disk.bad_ranges = []
    kernel.shutdown()
    assert 'ukern: the object server is gone: objects were not written back' in log
    problems, word, pages = objcrash.recovered_state(disk)
    assert problems == [] and sequence_on_disk(disk) == before
    assert word == 1 * objcrash.PROGRESS + 256 and pages == [1] * 256


def test_the_server_dying_mid_checkpoint_ends_the_wait_for_it(disk):
    kernel, out, log, p = start_objcrash(disk, 2)
    checkpoints = kernel.objects.checkpoints
    capture = checkpoints._capture

    def stop_in_one_with_pages(*args):
        capture(*args)
        if checkpoints.held and checkpoints.committed >= 1:
            kernel.stop_requested = True      # run() returns with this checkpoint in flight
    checkpoints._capture = stop_in_one_with_pages
    kernel.run()
    assert checkpoints.current is not None and checkpoints.held
    kernel.stop_requested = False
    kernel.terminate(kernel.object_link.server, Signal.SIGKILL)
    kernel.run()
    kernel.shutdown()
    assert not kernel.deadlocked and p.state.value == 'zombie'
    assert any('checkpoints stopped: the object server is gone' in line for line in log), log
    assert checkpoints.current is None and not checkpoints.held
    problems, word, pages = objcrash.recovered_state(disk)
    assert problems == [] and word // objcrash.PROGRESS >= objcrash.last_committed(out.decode())
