"""Specification tests for the AHCI HBA model (emu/ahci.py) and its disk images.

Like QEMU's AHCI qtests, every test drives the HBA only through its registers (Bus reads
and writes at ABAR) and the structures a driver lays out in physical memory: a command
list, a received-FIS area, command tables with a command FIS and a PRDT.
"""

import ctypes

import pytest

from emu import disk_image as disk_image_module
from emu.ahci import (
    AHCI, ABAR_SIZE, AHCI_VERSION_1_3_1, CT_CFIS, CT_PRDT, DEVICE_LBA, H2D_C, PRD_INTERRUPT,
    RFIS_D2H, RFIS_SDB, SIG_ATA, AtaCommand, AtaError, AtaStatus, Cap, CommandHeader,
    CommandHeaderFlags, D2HRegisterFis, FisType, Ghc, H2DRegisterFis, HostReg, PortCmd,
    PortIS, PortReg, PrdEntry, ReceivedFis, SErr, SetDeviceBitsFis, port_reg,
)
from emu.bus import Bus
from emu.clock import Clock
from emu.disk_image import DiskImage, MediaError
from emu.memory import PhysicalMemory

ABAR = 0xFEB0_0000
IRQ = 11
RAM = 1 << 20
SECTORS = 2048

CLB = 0x10000               # command lists, 1 KiB per port
FB = 0x14000                # received-FIS areas, 256 B per port
TABLES = 0x20000            # command tables, 4 KiB per slot
DATA = 0x80000              # data buffers
LATENCY_1 = AHCI.COMMAND_OVERHEAD_NS + AHCI.TRANSFER_NS_PER_SECTOR


def pattern(n: int, seed: int = 1) -> bytes:
    return bytes((i * 7 + seed) & 0xFF for i in range(n))


class Rig:
    """A machine with an HBA, helpers to program it as a driver would."""

    def __init__(self, tmp_path, disks=1, ports=4, sector_size=512):
        self.memory = PhysicalMemory(RAM)
        self.clock = Clock()
        self.bus = Bus()
        self.disks = [DiskImage.create(tmp_path / f'disk{i}.img', SECTORS, sector_size)
                      for i in range(disks)]
        self.hba = AHCI(self.memory, self.clock, self.bus, ABAR, IRQ, self.disks, ports=ports)

    # registers
    def read(self, offset: int) -> int:
        return self.bus.read(ABAR + offset)

    def write(self, offset: int, value: int) -> None:
        self.bus.write(ABAR + offset, value)

    def port(self, port: int, reg: PortReg) -> int:
        return self.read(port_reg(port, reg))

    def set_port(self, port: int, reg: PortReg, value: int) -> None:
        self.write(port_reg(port, reg), value)

    def start(self, port: int = 0, clb: int | None = None, fb: int | None = None,
              interrupts: bool = True) -> None:
        """Point the port at its command list and FIS area, enable FIS receive and start."""
        self.set_port(port, PortReg.CLB, CLB + port * 0x400 if clb is None else clb)
        self.set_port(port, PortReg.FB, FB + port * 0x100 if fb is None else fb)
        self.set_port(port, PortReg.CMD, PortCmd.FRE)
        self.set_port(port, PortReg.CMD, PortCmd.FRE | PortCmd.ST)
        if interrupts:
            self.set_port(port, PortReg.IE, PortIS.DHRS | PortIS.SDBS | PortIS.TFES | PortIS.HBFS)
            self.write(HostReg.GHC, Ghc.AE | Ghc.IE)

    # in-memory structures
    def prepare(self, slot: int, command: int, lba: int = 0, count: int = 0,
                prdt=(), write: bool = False, port: int = 0,
                ncq_tag: int | None = None) -> int:
        """Lay out slot's command header, FIS and PRDT; returns the header address."""
        table = TABLES + (port * 32 + slot) * 0x1000
        fis = H2DRegisterFis(fis_type=FisType.REG_H2D, pm_c=H2D_C, command=command,
                             device=DEVICE_LBA, count=count)
        fis.lba = lba
        if ncq_tag is not None:
            fis.features, fis.features_exp = count & 0xFF, count >> 8
            fis.count = ncq_tag << 3
        flags = ctypes.sizeof(H2DRegisterFis) // 4 | (CommandHeaderFlags.W if write else 0)
        header = CommandHeader(flags=flags, prdtl=len(prdt), ctba=table & 0xFFFFFFFF,
                               ctbau=table >> 32)
        header_addr = CLB + port * 0x400 + slot * 32
        self.memory.write(header_addr, bytes(header))
        self.memory.write(table + CT_CFIS, bytes(fis))
        for i, (addr, n, *ioc) in enumerate(prdt):
            entry = PrdEntry(dba=addr & 0xFFFFFFFF, dbau=addr >> 32,
                             dbc=(n - 1) | (PRD_INTERRUPT if ioc and ioc[0] else 0))
            self.memory.write(table + CT_PRDT + 16 * i, bytes(entry))
        return header_addr

    def issue(self, slots: int, port: int = 0) -> None:
        self.set_port(port, PortReg.CI, slots)

    def run(self) -> None:
        """Let virtual time pass until the HBA has nothing left to do."""
        while (t := self.clock.next_event()) is not None:
            self.clock.advance_to(t)
            self.clock.fire_due()

    def d2h(self, port: int = 0) -> D2HRegisterFis:
        return D2HRegisterFis.from_buffer_copy(self.memory.read(FB + port * 0x100 + RFIS_D2H, 20))

    def tfd(self, port: int = 0) -> tuple[int, int]:
        value = self.port(port, PortReg.TFD)
        return value & 0xFF, value >> 8


@pytest.fixture
def rig(tmp_path):
    r = Rig(tmp_path)
    yield r
    for d in r.disks:
        d.close()


def image_bytes(rig, lba: int, count: int, disk: int = 0) -> bytes:
    with open(rig.disks[disk].path, 'rb') as f:
        f.seek(lba * 512)
        return f.read(count * 512)


def ata_string(data: bytes, first_word: int, words: int) -> str:
    raw = data[first_word * 2:(first_word + words) * 2]
    return bytes(raw[i ^ 1] for i in range(len(raw))).decode('ascii').strip()


# -- structures ------------------------------------------------------------------------

def test_structures_have_spec_sizes_and_offsets():
    assert ctypes.sizeof(CommandHeader) == 32
    assert ctypes.sizeof(H2DRegisterFis) == 20
    assert ctypes.sizeof(D2HRegisterFis) == 20
    assert ctypes.sizeof(SetDeviceBitsFis) == 8
    assert ctypes.sizeof(PrdEntry) == 16
    assert ctypes.sizeof(ReceivedFis) == 256
    assert (RFIS_D2H, RFIS_SDB) == (0x40, 0x58)


# -- generic host control --------------------------------------------------------------

def test_cap_pi_vs_read_back(rig):
    cap = rig.read(HostReg.CAP)
    assert cap & 0x1F == 3                        # NP: 4 ports
    assert (cap >> 8) & 0x1F == 31                # NCS: 32 slots
    assert cap & Cap.S64A and cap & Cap.SNCQ and cap & Cap.SAM
    assert rig.read(HostReg.PI) == 0b1111
    assert rig.read(HostReg.VS) == AHCI_VERSION_1_3_1
    assert rig.read(HostReg.GHC) & Ghc.AE
    assert rig.read(HostReg.CAP2) == 0


def test_abar_window_is_mapped_on_the_bus(rig):
    assert rig.bus.read(ABAR + ABAR_SIZE - 4) == 0
    with pytest.raises(ValueError):
        rig.bus.read(ABAR + ABAR_SIZE)


def test_port_with_disk_reports_ata_device(rig):
    assert rig.port(0, PortReg.SSTS) & 0xF == 3   # DET: device present, phy up
    assert (rig.port(0, PortReg.SSTS) >> 8) & 0xF == 1   # IPM: active
    assert rig.port(0, PortReg.SIG) == SIG_ATA
    assert rig.tfd(0)[0] & AtaStatus.DRDY


def test_port_without_disk_reports_no_device(rig):
    assert rig.port(1, PortReg.SSTS) == 0
    assert rig.port(1, PortReg.TFD) == 0x7F


def test_port_start_sets_cr_and_fr(rig):
    rig.start()
    cmd = rig.port(0, PortReg.CMD)
    assert cmd & PortCmd.ST and cmd & PortCmd.CR and cmd & PortCmd.FRE and cmd & PortCmd.FR
    rig.set_port(0, PortReg.CMD, 0)
    assert rig.port(0, PortReg.CMD) & (PortCmd.ST | PortCmd.CR | PortCmd.FRE | PortCmd.FR) == 0


# -- commands --------------------------------------------------------------------------

def test_identify_returns_model_serial_and_sector_count(rig):
    rig.start()
    rig.prepare(0, AtaCommand.IDENTIFY_DEVICE, prdt=[(DATA, 512)])
    rig.issue(1)
    rig.run()
    data = rig.memory.read(DATA, 512)
    assert ata_string(data, 27, 20) == 'ukern virtual SATA disk'
    assert ata_string(data, 10, 10) == 'UKERN0000'
    word = lambda i: int.from_bytes(data[2 * i:2 * i + 2], 'little')
    assert word(83) & (1 << 10)                   # LBA48 supported
    assert sum(word(100 + i) << (16 * i) for i in range(4)) == SECTORS
    assert word(60) | word(61) << 16 == SECTORS
    assert sum(data) % 256 == 0                   # integrity word checksum
    assert rig.port(0, PortReg.CI) == 0


def test_write_then_read_back_through_multi_entry_prdt(rig):
    rig.start()
    payload = pattern(4 * 512)
    regions = [(DATA, 1024), (DATA + 0x3000, 512), (DATA + 0x5000, 512)]
    offset = 0
    for addr, n in regions:
        rig.memory.write(addr, payload[offset:offset + n])
        offset += n
    header = rig.prepare(0, AtaCommand.WRITE_DMA_EXT, lba=100, count=4, prdt=regions, write=True)
    rig.issue(1)
    rig.run()
    assert image_bytes(rig, 100, 4) == payload
    assert CommandHeader.from_buffer_copy(rig.memory.read(header, 32)).prdbc == 2048

    back = [(DATA + 0x10000, 512), (DATA + 0x12000, 1536), (DATA + 0x18000, 4096)]
    header = rig.prepare(1, AtaCommand.READ_DMA_EXT, lba=100, count=4, prdt=back)
    rig.issue(1 << 1)
    rig.run()
    got = rig.memory.read(DATA + 0x10000, 512) + rig.memory.read(DATA + 0x12000, 1536)
    assert got == payload
    assert rig.memory.read(DATA + 0x18000, 16) == bytes(16)   # surplus PRD untouched
    assert CommandHeader.from_buffer_copy(rig.memory.read(header, 32)).prdbc == 2048


def test_completion_waits_for_the_latency(rig):
    rig.start()
    rig.disks[0].write(5, pattern(512, seed=9))
    rig.prepare(0, AtaCommand.READ_DMA_EXT, lba=5, count=1, prdt=[(DATA, 512)])
    t0 = rig.clock.now
    rig.issue(1)
    assert rig.memory.read(DATA, 512) == bytes(512)           # nothing moves at issue
    assert rig.port(0, PortReg.CI) == 1
    assert rig.tfd()[0] & AtaStatus.BSY
    assert rig.clock.next_event() == t0 + LATENCY_1
    rig.clock.advance_to(t0 + LATENCY_1 - 1)
    rig.clock.fire_due()
    assert rig.port(0, PortReg.CI) == 1
    rig.clock.advance_to(t0 + LATENCY_1)
    rig.clock.fire_due()
    assert rig.port(0, PortReg.CI) == 0
    assert not rig.tfd()[0] & AtaStatus.BSY
    assert rig.memory.read(DATA, 512) == pattern(512, seed=9)


def test_latency_grows_with_transfer_length(rig):
    rig.start()
    rig.prepare(0, AtaCommand.READ_DMA_EXT, lba=0, count=8, prdt=[(DATA, 4096)])
    rig.issue(1)
    expected = AHCI.COMMAND_OVERHEAD_NS + 8 * AHCI.TRANSFER_NS_PER_SECTOR
    assert rig.clock.next_event() == expected


def test_slots_complete_one_after_another_in_issue_order(rig):
    rig.start()
    rig.prepare(0, AtaCommand.READ_DMA_EXT, lba=0, count=1, prdt=[(DATA, 512)])
    rig.prepare(1, AtaCommand.READ_DMA_EXT, lba=1, count=1, prdt=[(DATA + 512, 512)])
    rig.issue(0b11)
    rig.clock.advance_to(LATENCY_1)
    rig.clock.fire_due()
    assert rig.port(0, PortReg.CI) == 0b10
    assert (rig.port(0, PortReg.CMD) >> 8) & 0x1F == 1        # CCS: now on slot 1
    rig.clock.advance_to(2 * LATENCY_1)
    rig.clock.fire_due()
    assert rig.port(0, PortReg.CI) == 0


def test_completion_posts_d2h_fis_and_task_file(rig):
    rig.start()
    rig.prepare(0, AtaCommand.READ_DMA_EXT, lba=77, count=1, prdt=[(DATA, 512)])
    rig.issue(1)
    rig.run()
    fis = rig.d2h()
    assert fis.fis_type == FisType.REG_D2H and fis.lba == 77
    assert fis.status & AtaStatus.DRDY and not fis.status & (AtaStatus.ERR | AtaStatus.BSY)
    status, error = rig.tfd()
    assert status & AtaStatus.DRDY and not status & (AtaStatus.ERR | AtaStatus.BSY) and error == 0


def test_no_d2h_fis_is_posted_without_fre(rig):
    rig.set_port(0, PortReg.CLB, CLB)
    rig.set_port(0, PortReg.FB, FB)
    rig.set_port(0, PortReg.CMD, PortCmd.ST)
    rig.prepare(0, AtaCommand.READ_DMA_EXT, lba=1, count=1, prdt=[(DATA, 512)])
    rig.issue(1)
    rig.run()
    assert rig.port(0, PortReg.CI) == 0
    assert rig.memory.read(FB, 256) == bytes(256)


def test_completion_sets_is_pxis_and_raises_the_irq_line(rig):
    rig.start()
    rig.prepare(0, AtaCommand.READ_DMA_EXT, lba=0, count=1, prdt=[(DATA, 512)])
    rig.issue(1)
    assert IRQ not in rig.bus.pending_irqs
    rig.run()
    assert rig.port(0, PortReg.IS) & PortIS.DHRS
    assert rig.read(HostReg.IS) == 0b1
    assert IRQ in rig.bus.pending_irqs
    # The driver acknowledges: PxIS first, then IS (both write-1-to-clear).
    rig.set_port(0, PortReg.IS, PortIS.DHRS)
    assert IRQ in rig.bus.pending_irqs
    rig.write(HostReg.IS, 0b1)
    assert rig.read(HostReg.IS) == 0 and rig.port(0, PortReg.IS) == 0
    assert IRQ not in rig.bus.pending_irqs


def test_is_is_set_again_while_the_port_still_has_status(rig):
    rig.start()
    rig.prepare(0, AtaCommand.READ_DMA_EXT, lba=0, count=1, prdt=[(DATA, 512)])
    rig.issue(1)
    rig.run()
    rig.write(HostReg.IS, 0b1)                   # wrong order: PxIS still pending
    assert rig.read(HostReg.IS) == 0b1 and IRQ in rig.bus.pending_irqs


def test_no_irq_without_ghc_ie_or_pxie(rig):
    rig.start(interrupts=False)
    rig.prepare(0, AtaCommand.READ_DMA_EXT, lba=0, count=1, prdt=[(DATA, 512)])
    rig.issue(1)
    rig.run()
    assert rig.port(0, PortReg.IS) & PortIS.DHRS      # status still recorded
    assert rig.read(HostReg.IS) == 0
    assert IRQ not in rig.bus.pending_irqs
    rig.set_port(0, PortReg.IE, PortIS.DHRS)          # enabling the port reports it in IS
    assert rig.read(HostReg.IS) == 0b1 and IRQ not in rig.bus.pending_irqs
    rig.write(HostReg.GHC, Ghc.IE)                    # and GHC.IE drives the line
    assert IRQ in rig.bus.pending_irqs


def test_prd_interrupt_bit_sets_dps(rig):
    rig.start()
    rig.prepare(0, AtaCommand.READ_DMA_EXT, lba=0, count=1, prdt=[(DATA, 512, True)])
    rig.issue(1)
    rig.run()
    assert rig.port(0, PortReg.IS) & PortIS.DPS


def test_flush_cache_ext_completes_and_syncs_the_image(rig, monkeypatch):
    synced = []
    monkeypatch.setattr(disk_image_module.os, 'fsync', synced.append)
    rig.start()
    rig.prepare(0, AtaCommand.FLUSH_CACHE_EXT)
    rig.issue(1)
    assert rig.clock.next_event() == AHCI.COMMAND_OVERHEAD_NS + AHCI.FLUSH_NS
    rig.run()
    assert rig.port(0, PortReg.CI) == 0
    assert rig.port(0, PortReg.IS) & PortIS.DHRS
    assert len(synced) == 1


def test_hba_flush_syncs_every_disk(tmp_path, monkeypatch):
    synced = []
    monkeypatch.setattr(disk_image_module.os, 'fsync', synced.append)
    r = Rig(tmp_path, disks=2)
    r.hba.flush()
    assert len(synced) == 2


def test_ncq_write_and_read_complete_with_set_device_bits(rig):
    rig.start()
    rig.memory.write(DATA, pattern(1024, seed=3))
    rig.set_port(0, PortReg.SACT, 1 << 4)
    rig.prepare(4, AtaCommand.WRITE_FPDMA_QUEUED, lba=200, count=2, prdt=[(DATA, 1024)],
                write=True, ncq_tag=4)
    rig.issue(1 << 4)
    assert rig.port(0, PortReg.CI) == 0               # accepted by the device at once
    assert rig.port(0, PortReg.SACT) == 1 << 4        # still outstanding
    rig.run()
    assert rig.port(0, PortReg.SACT) == 0
    assert rig.port(0, PortReg.IS) & PortIS.SDBS
    sdb = SetDeviceBitsFis.from_buffer_copy(rig.memory.read(FB + RFIS_SDB, 8))
    assert sdb.fis_type == FisType.SET_DEVICE_BITS and sdb.sactive == 1 << 4
    assert image_bytes(rig, 200, 2) == pattern(1024, seed=3)

    rig.set_port(0, PortReg.SACT, 1 << 7)
    rig.prepare(7, AtaCommand.READ_FPDMA_QUEUED, lba=200, count=2, prdt=[(DATA + 0x4000, 1024)],
                ncq_tag=7)
    rig.issue(1 << 7)
    rig.run()
    assert rig.memory.read(DATA + 0x4000, 1024) == pattern(1024, seed=3)
    assert rig.port(0, PortReg.SACT) == 0


def test_commands_on_a_stopped_port_are_ignored(rig):
    rig.set_port(0, PortReg.CLB, CLB)
    rig.prepare(0, AtaCommand.READ_DMA_EXT, lba=0, count=1, prdt=[(DATA, 512)])
    rig.issue(1)
    assert rig.port(0, PortReg.CI) == 0
    assert rig.clock.next_event() is None


def test_clearing_st_abandons_issued_commands(rig):
    rig.start()
    rig.disks[0].write(0, pattern(512))
    rig.prepare(0, AtaCommand.READ_DMA_EXT, lba=0, count=1, prdt=[(DATA, 512)])
    rig.issue(1)
    rig.set_port(0, PortReg.CMD, PortCmd.FRE)
    assert rig.port(0, PortReg.CI) == 0 and not rig.port(0, PortReg.CMD) & PortCmd.CR
    rig.run()
    assert rig.memory.read(DATA, 512) == bytes(512)


# -- errors ----------------------------------------------------------------------------

def test_read_of_a_bad_sector_fails_with_tfes_unc_and_moves_nothing(rig):
    rig.disks[0].write(10, pattern(2048))
    rig.disks[0].bad_ranges.append((12, 1))
    rig.start()
    rig.memory.write(DATA, b'\xEE' * 2048)
    rig.prepare(0, AtaCommand.READ_DMA_EXT, lba=10, count=4, prdt=[(DATA, 2048)])
    rig.issue(1)
    rig.run()
    status, error = rig.tfd()
    assert status & AtaStatus.ERR and error & AtaError.UNC
    assert rig.port(0, PortReg.IS) & PortIS.TFES
    assert rig.port(0, PortReg.CI) == 1               # the failed slot stays set
    assert rig.memory.read(DATA, 2048) == b'\xEE' * 2048
    fis = rig.d2h()
    assert fis.status & AtaStatus.ERR and fis.lba == 12
    assert IRQ in rig.bus.pending_irqs


def test_write_to_a_bad_sector_fails_with_abrt_and_leaves_the_image(rig):
    rig.disks[0].bad_ranges.append((30, 2))
    rig.start()
    rig.memory.write(DATA, pattern(2048))
    rig.prepare(0, AtaCommand.WRITE_DMA_EXT, lba=28, count=4, prdt=[(DATA, 2048)], write=True)
    rig.issue(1)
    rig.run()
    status, error = rig.tfd()
    assert status & AtaStatus.ERR and error & AtaError.ABRT
    assert image_bytes(rig, 28, 4) == bytes(2048)


def test_after_a_task_file_error_the_port_halts_until_restarted(rig):
    rig.disks[0].bad_ranges.append((0, 1))
    rig.start()
    rig.prepare(0, AtaCommand.READ_DMA_EXT, lba=0, count=1, prdt=[(DATA, 512)])
    rig.prepare(1, AtaCommand.READ_DMA_EXT, lba=1, count=1, prdt=[(DATA, 512)])
    rig.issue(0b11)
    rig.run()
    assert rig.port(0, PortReg.CI) == 0b11            # slot 1 never ran
    # Recovery (AHCI §6.2.2): clear ST, clear PxSERR and PxIS, set ST, reissue.
    rig.set_port(0, PortReg.CMD, PortCmd.FRE)
    assert rig.port(0, PortReg.CI) == 0
    rig.set_port(0, PortReg.SERR, 0xFFFFFFFF)
    rig.set_port(0, PortReg.IS, 0xFFFFFFFF)
    rig.set_port(0, PortReg.CMD, PortCmd.FRE | PortCmd.ST)
    rig.issue(0b10)
    rig.run()
    assert rig.port(0, PortReg.CI) == 0
    assert not rig.tfd()[0] & AtaStatus.ERR


def test_lba_beyond_the_end_fails_with_idnf(rig):
    rig.start()
    rig.prepare(0, AtaCommand.READ_DMA_EXT, lba=SECTORS - 1, count=2, prdt=[(DATA, 1024)])
    rig.issue(1)
    rig.run()
    status, error = rig.tfd()
    assert status & AtaStatus.ERR and error & AtaError.IDNF
    assert rig.port(0, PortReg.IS) & PortIS.TFES


def test_unknown_command_is_aborted(rig):
    rig.start()
    rig.prepare(0, 0x99)
    rig.issue(1)
    rig.run()
    status, error = rig.tfd()
    assert status & AtaStatus.ERR and error == AtaError.ABRT


def test_prdt_outside_ram_gives_hbfs_without_an_exception(rig):
    rig.disks[0].write(0, pattern(1024))
    rig.start()
    rig.prepare(0, AtaCommand.READ_DMA_EXT, lba=0, count=2,
                prdt=[(DATA, 512), (RAM - 256, 512)])
    rig.issue(1)
    rig.run()
    assert rig.port(0, PortReg.IS) & PortIS.HBFS
    assert rig.port(0, PortReg.SERR) & SErr.ERR_E
    assert rig.port(0, PortReg.CI) == 1
    assert rig.memory.read(DATA, 512) == bytes(512)   # nothing moved
    assert IRQ in rig.bus.pending_irqs


def test_write_from_outside_ram_gives_hbfs_and_leaves_the_image(rig):
    rig.start()
    rig.prepare(0, AtaCommand.WRITE_DMA_EXT, lba=0, count=1, prdt=[(RAM + 0x1000, 512)],
                write=True)
    rig.issue(1)
    rig.run()
    assert rig.port(0, PortReg.IS) & PortIS.HBFS
    assert image_bytes(rig, 0, 1) == bytes(512)


def test_command_list_outside_ram_gives_hbfs(rig):
    rig.start(clb=RAM + 0x400)
    rig.issue(1)
    rig.run()
    assert rig.port(0, PortReg.IS) & PortIS.HBFS


def test_command_table_outside_ram_gives_hbfs(rig):
    rig.start()
    header = CommandHeader(flags=5, prdtl=1, ctba=RAM + 0x80)
    rig.memory.write(CLB, bytes(header))
    rig.issue(1)
    rig.run()
    assert rig.port(0, PortReg.IS) & PortIS.HBFS


def test_fis_area_outside_ram_gives_hbfs(rig):
    rig.start(fb=RAM + 0x100)
    rig.prepare(0, AtaCommand.READ_DMA_EXT, lba=0, count=1, prdt=[(DATA, 512)])
    rig.issue(1)
    rig.run()
    assert rig.port(0, PortReg.IS) & PortIS.HBFS


def test_prdt_too_short_gives_overflow(rig):
    rig.start()
    rig.prepare(0, AtaCommand.READ_DMA_EXT, lba=0, count=2, prdt=[(DATA, 512)])
    rig.issue(1)
    rig.run()
    assert rig.port(0, PortReg.IS) & PortIS.OFS
    assert rig.memory.read(DATA, 512) == bytes(512)


def test_write_one_to_clear_pxserr_and_pxis(rig):
    rig.start(clb=RAM + 0x400)
    rig.issue(1)
    rig.run()
    rig.set_port(0, PortReg.SERR, 0)
    assert rig.port(0, PortReg.SERR) == SErr.ERR_E
    rig.set_port(0, PortReg.SERR, SErr.ERR_E)
    assert rig.port(0, PortReg.SERR) == 0
    rig.set_port(0, PortReg.IS, PortIS.DHRS)          # other bits stay
    assert rig.port(0, PortReg.IS) == PortIS.HBFS


# -- reset -----------------------------------------------------------------------------

def test_hba_reset_clears_state(rig):
    rig.start()
    rig.prepare(0, AtaCommand.READ_DMA_EXT, lba=0, count=1, prdt=[(DATA, 512)])
    rig.prepare(1, AtaCommand.READ_DMA_EXT, lba=0, count=1, prdt=[(DATA, 512)])
    rig.issue(1)
    rig.run()
    rig.issue(0b10)                                   # one left in flight
    assert IRQ in rig.bus.pending_irqs
    rig.write(HostReg.GHC, Ghc.HR)
    assert rig.read(HostReg.GHC) == Ghc.AE            # HR done, IE off
    assert rig.read(HostReg.IS) == 0
    for reg in (PortReg.CLB, PortReg.FB, PortReg.IS, PortReg.IE, PortReg.CI, PortReg.SACT):
        assert rig.port(0, reg) == 0
    assert not rig.port(0, PortReg.CMD) & (PortCmd.ST | PortCmd.CR | PortCmd.FRE)
    assert rig.port(0, PortReg.SSTS) & 0xF == 3       # the disk is still there
    assert IRQ not in rig.bus.pending_irqs
    rig.run()                                         # the abandoned command never lands
    assert rig.port(0, PortReg.IS) == 0


# -- disk image ------------------------------------------------------------------------

def test_disk_image_reads_and_writes_in_place(tmp_path):
    path = tmp_path / 'd.img'
    path.write_bytes(bytes(8 * 512))
    with DiskImage(path) as disk:
        assert disk.sectors == 8
        disk.write(3, pattern(1024))
        assert disk.read(3, 2) == pattern(1024)
    assert path.read_bytes()[3 * 512:5 * 512] == pattern(1024)


def test_disk_image_bad_range_fails_before_any_byte_moves(tmp_path):
    with DiskImage.create(tmp_path / 'd.img', 16) as disk:
        disk.bad_ranges.append((5, 2))
        with pytest.raises(MediaError) as info:
            disk.write(4, pattern(4 * 512))
        assert info.value.lba == 5
        disk.bad_ranges.clear()
        assert disk.read(4, 4) == bytes(2048)


def test_disk_image_rejects_access_past_the_end(tmp_path):
    with DiskImage.create(tmp_path / 'd.img', 4) as disk:
        with pytest.raises(ValueError):
            disk.read(3, 2)


def test_disk_with_4k_sectors_reports_its_logical_sector_size(tmp_path):
    r = Rig(tmp_path, sector_size=4096)
    r.start()
    r.prepare(0, AtaCommand.IDENTIFY_DEVICE, prdt=[(DATA, 512)])
    r.issue(1)
    r.run()
    data = r.memory.read(DATA, 512)
    word = lambda i: int.from_bytes(data[2 * i:2 * i + 2], 'little')
    assert word(106) & (1 << 12)
    assert word(117) | word(118) << 16 == 2048        # words per logical sector
    r.disks[0].write(1, pattern(4096))
    r.prepare(1, AtaCommand.READ_DMA_EXT, lba=1, count=1, prdt=[(DATA, 4096)])
    r.issue(1 << 1)
    eight_units = AHCI.COMMAND_OVERHEAD_NS + 8 * AHCI.TRANSFER_NS_PER_SECTOR   # 8 x 512 B
    assert r.clock.next_event() == r.clock.now + eight_units
    r.run()
    assert r.memory.read(DATA, 4096) == pattern(4096)
    r.disks[0].close()
