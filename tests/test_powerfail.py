"""--power-fail N: the power is cut when the disks together start their Nth transfer.

Model level: what each disk holds afterwards (completed writes whole, the cut write torn at
a sector boundary, a write still in flight not at all).  Command level: `ukern run` stops
dead with one line and status 3, writes nothing back, and counts the same way every run.
"""

import subprocess
import sys

import pytest

from emu.ahci import AtaCommand
from emu.powerfail import PowerFailed, PowerSwitch
from tests.test_ahci_model import DATA, Rig, pattern

UKERN = [sys.executable, '-m', 'kernel']


def write_command(rig: Rig, slot: int, lba: int, sectors: int, seed: int, port: int = 0) -> None:
    data = pattern(sectors * 512, seed)
    addr = DATA + slot * 0x4000 + port * 0x40000
    rig.memory.write(addr, data)
    rig.prepare(slot, AtaCommand.WRITE_DMA_EXT, lba=lba, count=sectors,
                prdt=[(addr, len(data))], write=True, port=port)


@pytest.fixture
def rig(tmp_path):
    r = Rig(tmp_path, disks=2)
    yield r
    for d in r.disks:
        d.close()


def test_writes_completed_before_the_cut_are_whole(rig):
    rig.hba.power = PowerSwitch(cut_at=2)
    rig.start()
    write_command(rig, 0, lba=10, sectors=8, seed=1)
    rig.issue(1)
    rig.run()
    assert rig.disks[0].read(10, 8) == pattern(8 * 512, 1)
    write_command(rig, 1, lba=100, sectors=8, seed=2)
    with pytest.raises(PowerFailed) as cut:
        rig.issue(1 << 1)
    assert cut.value.command == 2
    assert rig.disks[0].read(10, 8) == pattern(8 * 512, 1)


def test_the_cut_write_reaches_the_media_for_its_first_half_only(rig):
    rig.hba.power = PowerSwitch(cut_at=1)
    rig.start()
    write_command(rig, 0, lba=100, sectors=8, seed=3)
    with pytest.raises(PowerFailed):
        rig.issue(1)
    on_disk = rig.disks[0].read(100, 8)
    assert on_disk[:4 * 512] == pattern(8 * 512, 3)[:4 * 512]
    assert on_disk[4 * 512:] == bytes(4 * 512)


def test_a_write_in_flight_on_another_disk_moves_nothing(rig):
    rig.hba.power = PowerSwitch(cut_at=2)
    rig.start(port=0)
    rig.start(port=1)
    write_command(rig, 0, lba=50, sectors=4, seed=4, port=1)
    rig.issue(1, port=1)                 # transfer 1 starts on disk 1 and is still moving
    write_command(rig, 0, lba=60, sectors=1, seed=5, port=0)
    with pytest.raises(PowerFailed):
        rig.issue(1, port=0)             # transfer 2: the cut (one sector: none of it lands)
    assert rig.disks[1].read(50, 4) == bytes(4 * 512)
    assert rig.disks[0].read(60, 1) == bytes(512)


def test_the_switch_counts_every_transfer_and_refuses_a_cut_before_the_first():
    switch = PowerSwitch(cut_at=3)
    assert [switch.transfer_starting() for _ in range(4)] == [False, False, True, False]
    with pytest.raises(ValueError):
        PowerSwitch(cut_at=0)


def run_ukern(disk, *args):
    return subprocess.run(UKERN + ['run', '--disk', str(disk), *args], capture_output=True,
                          text=True, timeout=120)


def transfers_of_a_whole_run(disk) -> int:
    r = run_ukern(disk, '--power-fail', str(1 << 40), '/bin/ls', '/')
    assert r.returncode == 0, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith('ukern: power never failed: the disks started ')
    return int(last.split()[-2])


def test_a_run_counts_the_same_transfers_every_time(disk, tmp_path):
    twin = tmp_path / 'twin.img'
    twin.write_bytes(disk.read_bytes())
    assert transfers_of_a_whole_run(disk) == transfers_of_a_whole_run(twin) > 2


def test_a_cut_run_stops_with_one_line_and_status_3(disk):
    r = run_ukern(disk, '--power-fail', '2', '/bin/ls', '/')
    assert r.returncode == 3
    assert r.stderr.strip().splitlines() == ['ukern: power failed at disk command 2 (--power-fail)']


def test_nothing_is_written_back_after_the_cut(disk, tmp_path):
    """A whole run changes the image (shutdown writes the superblock and access times
    back); cut at the first transfer, a read at mount, the image is left byte for byte."""
    before = disk.read_bytes()
    twin = tmp_path / 'twin.img'
    twin.write_bytes(before)
    assert run_ukern(twin, '/bin/ls', '/').returncode == 0
    assert twin.read_bytes() != before
    assert run_ukern(disk, '--power-fail', '1', '/bin/ls', '/').returncode == 3
    assert disk.read_bytes() == before
