"""Grading tests of the AHCI lab (labs/ahci/README.md): the driver checks of
tests/test_ahci_driver.py run on the student's bottom half and merge, plus the elevator on
its own and a guest program reading the disk through the whole kernel."""

import sys

from gradelib import test, expect, expect_true, disk, scratch_dir, ROOT, Fail

sys.path.insert(0, str(ROOT / 'tests'))


def suite(name: str, **fixtures):
    """Run tests/test_ahci_driver.py's test `name` on a fresh rig (its fixtures by hand);
    a failed assert is reported with its source line and the values it compared."""
    import traceback
    import test_ahci_driver as t
    from emu.disk_image import DiskImage
    image = DiskImage.create(scratch_dir() / 'disk.img', t.SECTORS)
    rig = t.Booted([image])
    func = getattr(t, name)
    args = {'rig': rig, 'image': image}
    args = [args[p] for p in func.__code__.co_varnames[:func.__code__.co_argcount]]
    try:
        func(*args)
    except AssertionError as e:
        tb = traceback.extract_tb(e.__traceback__)
        frame = next((f for f in reversed(tb) if f.filename.endswith('test_ahci_driver.py')), tb[-1])
        values = {}
        tbo = e.__traceback__
        while tbo.tb_next:
            tbo = tbo.tb_next
        for k, v in tbo.tb_frame.f_locals.items():
            if k not in ('rig', 'image') and isinstance(v, (int, list, tuple, str)) and len(repr(v)) < 200:
                values[k] = v
        raise Fail(f'tests/test_ahci_driver.py::{name} line {frame.lineno}', frame.line,
                   f'it does not hold; {values}' if values else 'it does not hold') from None


@test('ahci: probe -- IDENTIFY completes through the bottom half', points=10)
def _():
    suite('test_probe_finds_the_disk_with_its_size_and_model')


@test('ahci: reads and writes complete with their data', points=15)
def _():
    suite('test_read_of_several_sectors_dmas_into_the_frames')
    suite('test_write_then_read_back_lands_in_the_image_file')
    suite('test_flush_cache_request_completes')


@test('ahci: waiters are woken, callbacks run, several commands in flight', points=10)
def _():
    suite('test_waiters_are_woken_and_callbacks_run')
    suite('test_several_commands_are_in_flight_at_once')
    suite('test_frames_are_pinned_while_dma_is_in_flight')


@test('ahci: a bad sector gives EIO, the port recovers, later requests work', points=15)
def _():
    suite('test_bad_sector_gives_eio_and_later_requests_still_work')
    suite('test_write_to_a_bad_sector_fails_and_leaves_the_image')
    suite('test_dma_to_memory_outside_ram_fails_with_eio_and_the_port_recovers')


@test('ahci: a failed merged command is retried request by request', points=10)
def _():
    suite('test_a_failed_merged_command_is_retried_request_by_request')


@test('ahci: the elevator merges adjacent requests (commands issued)', points=10)
def _():
    suite('test_elevator_sorts_in_c_look_order_and_merges_adjacent_requests')
    suite('test_elevator_does_not_merge_reads_with_writes')


@test('ahci: merge on its own -- both sides, directions, limits, solo', points=15)
def _():
    from kernel.dev.blk import BlockQueue, BlockRequest

    class Disk:
        sectors, sector_size = 10_000, 512

    def queue(specs):
        disk = Disk()
        q = BlockQueue(disk, lambda: None)
        reqs = []
        for lba, n, write, *solo in specs:
            r = BlockRequest(disk, lba, n, [(0x10000 + 0x1000 * i, 512) for i in range(n)], write=write)
            r.solo = bool(solo)
            q.submit(r)
            reqs.append(r)
        return q, reqs

    def commands(q, max_segments=248, max_sectors=0xFFFF):
        out = []
        while (c := q.next_command(max_segments, max_sectors)) is not None:
            out.append([(r.lba, r.sectors) for r in c])
        return out

    q, _ = queue([(12, 1, False), (10, 1, False), (11, 1, False), (13, 2, False)])
    expect('commands for reads of 12, 10, 11, 13+2 (one merged command, in LBA order)',
           [[(10, 1), (11, 1), (12, 1), (13, 2)]], commands(q))
    expect('requests merged', 3, q.merges)
    q, _ = queue([(20, 1, True), (21, 1, False), (22, 1, True)])
    expect('commands for write 20, read 21, write 22 (no merging across directions)',
           [[(20, 1)], [(21, 1)], [(22, 1)]], commands(q))
    q, _ = queue([(30, 2, False), (32, 2, False), (34, 2, False), (36, 2, False)])
    expect('commands with at most 5 segments per command',
           [[(30, 2), (32, 2)], [(34, 2), (36, 2)]], commands(q, max_segments=5))
    q, _ = queue([(30, 2, False), (32, 2, False), (34, 2, False)])
    expect('commands with at most 4 sectors per command',
           [[(30, 2), (32, 2)], [(34, 2)]], commands(q, max_sectors=4))
    q, _ = queue([(40, 1, False), (41, 1, False, 'solo'), (42, 1, False)])
    expect('commands when 41 must go alone', [[(40, 1)], [(41, 1)], [(42, 1)]], commands(q))


@test('ahci: /bin/cp through the whole kernel; the elevator merges its writes', points=15)
def _():
    import conftest
    image = disk()
    r = conftest.run_on_disk(image, '/bin/cp', '/etc/motd', '/motd.copy')
    expect('exit status', 0, r.status, r)
    motd = (ROOT / 'userland' / 'etc' / 'motd').read_bytes()
    copy = conftest.debugfs_cat(image, '/motd.copy')
    expect('the copy on the disk image', motd, copy, r)
    q = r.kernel.disks[0].queue
    # The cache reads a file's consecutive blocks in one request; the blocks a write
    # dirties one by one (data, inode, bitmaps) are separate requests at sync time.
    expect_true('the elevator merged the sync\'s writes', q.merges > 0, '> 0 merges',
                f'{q.merges} merges, {q.commands} commands for {q.submitted} requests')
