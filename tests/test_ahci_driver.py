"""The kernel's AHCI driver (kernel/dev/ahci.py) and block layer (kernel/dev/blk.py).

Each test boots a kernel on a Machine with disk images on the HBA, probes, and moves
sectors with BlockRequests, waiting as the kernel does at boot (kernel.run_until); the
image files are checked with plain file reads.
"""

import io

import pytest

from emu.ahci import AHCI, MODEL, AtaCommand
from emu.disk_image import DiskImage
from emu.machine import IRQ_AHCI, Machine
from kernel.dev.ahci import attach
from kernel.dev.blk import BlockRequest
from kernel.errno import Errno
from kernel.proc.wait import run_boot
from kernel.kernel import Kernel

SECTORS = 4096


def pattern(n: int, seed: int = 1) -> bytes:
    return bytes((i * 7 + seed + i // 512) & 0xFF for i in range(n))


class Booted:
    def __init__(self, images, mem=32 << 20):
        self.machine = Machine(mem, console_sink=lambda b: None, console_source=io.BytesIO(),
                               disks=images)
        self.kernel = Kernel(self.machine, log=lambda msg: None)
        self.events = []
        self.kernel.trace.subscribe(lambda e: self.events.append(e) if e.kind == 'dma' else None)
        self.driver = attach(self.kernel)
        self.disks = self.driver.disks
        self.mem = self.machine.memory

    @property
    def disk(self):
        return self.disks[0]

    def frame(self, fill: bytes | None = None) -> int:
        f = self.kernel.frames.alloc()
        if fill is not None:
            self.mem.write(f, fill)
        return f

    def submit(self, lba, sectors, segments, write=False, disk=None):
        disk = disk or self.disk
        return disk.queue.submit(BlockRequest(disk, lba, sectors, segments, write=write))

    def wait(self, *reqs):
        self.kernel.run_until(lambda: all(r.done for r in reqs))

    def transfers(self, phase='issue'):
        """(lba, sectors, write, requests) of the read/write commands, in trace order."""
        return [(e.args['lba'], e.args['sectors'], e.args['write'], e.args['requests'])
                for e in self.events
                if e.args['phase'] == phase and e.args['command'] is None]


@pytest.fixture
def image(tmp_path):
    return DiskImage.create(tmp_path / 'disk.img', SECTORS)


@pytest.fixture
def rig(image):
    return Booted([image])


def file_bytes(image, lba, count):
    with open(image.path, 'rb') as f:
        f.seek(lba * 512)
        return f.read(count * 512)


# -- probe --------------------------------------------------------------------------------

def test_probe_finds_the_disk_with_its_size_and_model(rig):
    assert len(rig.disks) == 1
    disk = rig.disk
    assert (disk.port, disk.sectors, disk.sector_size) == (0, SECTORS, 512)
    assert disk.model == MODEL
    assert rig.kernel.irq_handlers[IRQ_AHCI] == rig.driver.interrupt


def test_probe_skips_an_empty_port(tmp_path):
    img = DiskImage.create(tmp_path / 'second.img', 1000)
    booted = Booted([None, img])          # port 0 empty, the disk on port 1
    assert [(d.port, d.sectors) for d in booted.disks] == [(1, 1000)]


def test_probe_without_an_hba_finds_nothing():
    machine = Machine(8 << 20, console_sink=lambda b: None, console_source=io.BytesIO())
    assert attach(Kernel(machine, log=lambda m: None)).disks == []


def test_probe_reports_4k_sectors(tmp_path):
    img = DiskImage.create(tmp_path / '4k.img', 256, sector_size=4096)
    booted = Booted([img])
    assert (booted.disk.sectors, booted.disk.sector_size) == (256, 4096)


# -- reads and writes ---------------------------------------------------------------------

def test_read_of_several_sectors_dmas_into_the_frames(rig, image):
    data = pattern(12 * 512)
    image.write(100, data)
    a, b = rig.frame(), rig.frame()
    req = rig.submit(100, 12, [(a, 4096), (b, 2048)])
    rig.wait(req)
    assert req.error == 0
    assert rig.mem.read(a, 4096) + rig.mem.read(b, 2048) == data


def test_write_then_read_back_lands_in_the_image_file(rig, image):
    data = pattern(8 * 512, seed=5)
    src, dst = rig.frame(data), rig.frame()
    w = rig.submit(300, 8, [(src, 4096)], write=True)
    rig.wait(w)
    assert w.error == 0
    assert file_bytes(image, 300, 8) == data
    r = rig.submit(300, 8, [(dst, 4096)])
    rig.wait(r)
    assert rig.mem.read(dst, 4096) == data


def test_request_completes_only_after_virtual_time_passes(rig):
    f = rig.frame()
    start = rig.kernel.clock.now
    req = rig.submit(0, 8, [(f, 4096)])
    assert not req.done
    rig.kernel._deliver_events()          # the dispatch happens, the disk does not finish yet
    assert not req.done
    rig.wait(req)
    assert rig.kernel.clock.now - start >= AHCI.COMMAND_OVERHEAD_NS + 8 * AHCI.TRANSFER_NS_PER_SECTOR
    assert req.completed_at == rig.kernel.clock.now


def test_waiters_are_woken_and_callbacks_run(rig):
    f = rig.frame()
    seen = []
    req = BlockRequest(rig.disk, 5, 1, [(f, 512)], on_done=seen.append)
    rig.disk.queue.submit(req)
    assert run_boot(rig.kernel, req.wait()) == 0       # waits on req.waiters
    assert seen == [req]


def test_several_commands_are_in_flight_at_once(rig):
    frames = [rig.frame() for _ in range(3)]
    reqs = [rig.submit(lba, 1, [(f, 512)]) for lba, f in zip((10, 500, 1000), frames)]
    rig.kernel._deliver_events()
    assert len(rig.driver.ports[0].inflight) == 3
    rig.wait(*reqs)
    assert all(r.error == 0 for r in reqs)


# -- the elevator -------------------------------------------------------------------------

def test_elevator_sorts_in_c_look_order_and_merges_adjacent_requests(rig, image):
    image.write(0, pattern(200 * 512))
    first = rig.submit(40, 1, [(rig.frame(), 512)])   # head now past LBA 40
    rig.wait(first)
    lbas = [100, 10, 11, 12, 50]
    frames = [rig.frame() for _ in lbas]
    reqs = [rig.submit(lba, 1, [(f, 512)]) for lba, f in zip(lbas, frames)]
    rig.wait(*reqs)
    issued = rig.transfers()[1:]
    assert issued == [(50, 1, False, 1), (100, 1, False, 1), (10, 3, False, 3)]
    assert len(issued) < len(reqs)
    assert rig.disk.queue.merges == 2
    for lba, f in zip(lbas, frames):          # each request got its own sector
        assert rig.mem.read(f, 512) == pattern(200 * 512)[lba * 512:(lba + 1) * 512]


def test_elevator_does_not_merge_reads_with_writes(rig):
    w = rig.submit(20, 1, [(rig.frame(pattern(512)), 512)], write=True)
    r = rig.submit(21, 1, [(rig.frame(), 512)])
    rig.wait(w, r)
    assert sorted(rig.transfers()) == [(20, 1, True, 1), (21, 1, False, 1)]


# -- errors -------------------------------------------------------------------------------

def test_bad_sector_gives_eio_and_later_requests_still_work(rig, image):
    image.write(0, pattern(64 * 512))
    image.bad_ranges.append((20, 1))
    bad = rig.submit(20, 1, [(rig.frame(), 512)])
    behind = rig.submit(30, 1, [(rig.frame(), 512)])  # queued behind the failing command
    rig.wait(bad, behind)
    assert bad.error == -Errno.EIO
    assert behind.error == 0
    assert rig.driver.recoveries == 1
    later_frame = rig.frame()
    later = rig.submit(40, 2, [(later_frame, 1024)])
    rig.wait(later)
    assert later.error == 0
    assert rig.mem.read(later_frame, 1024) == pattern(64 * 512)[40 * 512:42 * 512]


def test_a_failed_merged_command_is_retried_request_by_request(rig, image):
    image.bad_ranges.append((21, 1))
    reqs = [rig.submit(lba, 1, [(rig.frame(), 512)]) for lba in (20, 21, 22)]
    rig.wait(*reqs)
    assert [r.error for r in reqs] == [0, -Errno.EIO, 0]


def test_write_to_a_bad_sector_fails_and_leaves_the_image(rig, image):
    image.bad_ranges.append((50, 1))
    req = rig.submit(50, 1, [(rig.frame(pattern(512)), 512)], write=True)
    rig.wait(req)
    assert req.error == -Errno.EIO
    assert file_bytes(image, 50, 1) == bytes(512)


def test_flush_cache_request_completes(rig):
    req = rig.disk.queue.submit(BlockRequest(rig.disk, 0, 0, [], command=AtaCommand.FLUSH_CACHE_EXT))
    rig.wait(req)
    assert req.error == 0


# -- frames -------------------------------------------------------------------------------

def test_frames_are_pinned_while_dma_is_in_flight(rig):
    frames = rig.kernel.frames
    a, b = rig.frame(), rig.frame()
    req = rig.submit(0, 16, [(a, 4096), (b, 4096)])
    assert frames.pinned(a) and frames.pinned(b)
    rig.wait(req)
    assert not frames.pinned(a) and not frames.pinned(b)


def test_port_structures_stay_pinned(rig):
    port = rig.driver.ports[0]
    assert rig.kernel.frames.pinned(port.clb)
    assert all(rig.kernel.frames.pinned(t) for t in port.tables)


def test_trace_reports_issue_and_complete_with_frames(rig):
    f = rig.frame()
    req = rig.submit(7, 2, [(f, 1024)], write=True)
    rig.wait(req)
    done = [e.args for e in rig.events if e.args['phase'] == 'complete' and e.args['command'] is None]
    assert done == [dict(phase='complete', disk=0, slot=done[0]['slot'], lba=7, sectors=2,
                         write=True, command=None, ata=AtaCommand.WRITE_DMA_EXT, frames=[hex(f)],
                         requests=1, error=0,
                         latency=AHCI.COMMAND_OVERHEAD_NS + 2 * AHCI.TRANSFER_NS_PER_SECTOR)]


def test_bad_requests_are_refused_at_submit(rig):
    f = rig.frame()
    with pytest.raises(ValueError):
        rig.submit(SECTORS - 1, 2, [(f, 1024)])         # past the end
    with pytest.raises(ValueError):
        rig.submit(0, 2, [(f, 512)])                    # segments too short
    with pytest.raises(ValueError):
        rig.submit(0, 1, [(f + 1, 512)])                # not word aligned


def test_dma_to_memory_outside_ram_fails_with_eio_and_the_port_recovers(rig):
    rig.disk.queue.frames = None              # let the request name an address past RAM
    outside = rig.machine.mem_size
    bad = rig.submit(0, 1, [(outside, 512)])
    rig.wait(bad)
    assert bad.error == -Errno.EIO
    rig.disk.queue.frames = rig.kernel.frames
    good = rig.submit(0, 1, [(rig.frame(), 512)])
    rig.wait(good)
    assert good.error == 0 and rig.driver.recoveries == 1


def test_two_disks_work_at_the_same_time(tmp_path):
    imgs = [DiskImage.create(tmp_path / f'd{i}.img', 256) for i in range(2)]
    for i, img in enumerate(imgs):
        img.write(3, pattern(512, seed=i + 10))
    booted = Booted(imgs)
    assert [d.port for d in booted.disks] == [0, 1]
    frames = [booted.frame(), booted.frame()]
    reqs = [booted.submit(3, 1, [(f, 512)], disk=d) for d, f in zip(booted.disks, frames)]
    booted.wait(*reqs)
    for i, f in enumerate(frames):
        assert booted.mem.read(f, 512) == pattern(512, seed=i + 10)
