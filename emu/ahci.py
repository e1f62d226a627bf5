"""An AHCI 1.3.1 SATA host bus adapter with one ATA disk per port.

The kernel's AHCI driver programs this model exactly as it would real hardware: through
the ABAR register window mapped on the Bus, and through structures it lays out in
PhysicalMemory (command list, received-FIS area, command tables, PRDTs).  Writing PxCI
hands command slots to the port; each command completes after a modelled latency on the
virtual Clock, when the data moves between guest memory and the DiskImage, the status is
posted (PxTFD, received FIS, PxIS/IS) and the interrupt line is raised.  Guest mistakes
and disk faults become AHCI error states, never Python exceptions out of the device.

Two optional hooks serve a controller driven from ring 3 (the object server's, machine.py):
`dma_guard(addr, nbytes) -> bool`, an IOMMU in miniature, is asked about every PRDT region
before a byte moves, and a refused region fails the command as a host bus fault (PxIS.HBFS)
with nothing transferred; `observer(phase, port, cmd)` hears each command start ('issue')
and end ('complete', 'error'), so the kernel can trace DMA it did not issue itself.
"""

import ctypes
from collections import deque

from emu.disk_image import DiskImage, Fenced, MediaError
from emu.memory import BusError
from emu.powerfail import PowerSwitch
from emu.ahci_regs import (  # noqa: F401  (re-exported: the driver imports them from here too)
    HostReg, PORT_BASE, PORT_STRIDE, MAX_PORTS, ABAR_SIZE, AHCI_VERSION_1_3_1,
    COMMAND_SLOTS, PortReg, port_reg, Cap, CAP_NP_MASK, CAP_NCS_SHIFT,
    CAP_ISS_SHIFT, Ghc, PortIS, PORT_IS_VALID, PORT_IS_FATAL, PortCmd,
    PXCMD_CCS_SHIFT, PXCMD_CCS_MASK, AtaStatus, AtaError, TFD_STATUS_MASK, TFD_ERROR_SHIFT,
    TFD_NO_DEVICE, STATUS_IDLE, SStatus, SSTS_DET_MASK, SErr, SIG_ATA,
    SIG_NONE, AtaCommand, FisType, CommandHeaderFlags, CMDHDR_CFL_MASK, CMDHDR_PMP_SHIFT,
    CommandHeader, CT_CFIS, CT_ACMD, CT_PRDT, PrdEntry, PRD_DBC_MASK,
    PRD_INTERRUPT, _LbaFields, H2DRegisterFis, H2D_C, DEVICE_LBA, D2HRegisterFis,
    FIS_I, SetDeviceBitsFis, ReceivedFis, RFIS_D2H, RFIS_SDB,
)



# Register values are kept as plain ints, and the per-command paths test them with these:
# arithmetic on IntFlag members builds enum objects, which costs more than the rest of a
# command (kernel/mm/pagetable.py does the same for PTEs).
_ST, _CR, _FRE, _FR = (int(f) for f in (PortCmd.ST, PortCmd.CR, PortCmd.FRE, PortCmd.FR))
_GHC_IE = int(Ghc.IE)
_BSY, _DRQ, _ERR = int(AtaStatus.BSY), int(AtaStatus.DRQ), int(AtaStatus.ERR)
_DPS, _SDBS, _DHRS, _TFES = int(PortIS.DPS), int(PortIS.SDBS), int(PortIS.DHRS), int(PortIS.TFES)
_STATUS_IDLE = int(STATUS_IDLE)


# ------------------------------------------------------------------------------------------
# IDENTIFY DEVICE data (ACS-3 §7.12.7).
# ------------------------------------------------------------------------------------------

MODEL = 'ukern virtual SATA disk'
FIRMWARE = '1.0'


def ata_string(text: str, length: int) -> bytes:
    """Space-padded ASCII with each byte pair swapped, as ATA strings are stored."""
    raw = text.encode('ascii')[:length].ljust(length, b' ')
    return bytes(raw[i ^ 1] for i in range(length))


def identify_data(disk: DiskImage, serial: str) -> bytes:
    words = [0] * 256
    words[0] = 0x0040                           # fixed ATA device
    strings = {10: (serial, 20), 23: (FIRMWARE, 8), 27: (MODEL, 40)}
    for first, (text, length) in strings.items():
        packed = ata_string(text, length)
        for i in range(length // 2):
            words[first + i] = int.from_bytes(packed[2 * i:2 * i + 2], 'little')
    words[47] = 0x8000                          # no READ/WRITE MULTIPLE
    words[49] = (1 << 9) | (1 << 8)             # LBA, DMA
    words[53] = (1 << 2) | (1 << 1)             # words 88 and 64-70 valid
    lba28 = min(disk.sectors, 0x0FFFFFFF)
    words[60], words[61] = lba28 & 0xFFFF, lba28 >> 16
    words[75] = COMMAND_SLOTS - 1               # NCQ queue depth - 1
    words[76] = (1 << 8) | (1 << 2) | (1 << 1)  # NCQ, SATA Gen2 and Gen1
    words[80] = (1 << 8) | (1 << 7)             # ATA8-ACS, ATA/ATAPI-7
    words[83] = (1 << 14) | (1 << 13) | (1 << 12) | (1 << 10)  # FLUSH EXT, FLUSH, LBA48
    words[84] = 1 << 14
    words[86] = (1 << 13) | (1 << 12) | (1 << 10)
    words[87] = 1 << 14
    words[88] = 0x003F | (1 << 13)              # UDMA 0-5 supported, mode 5 selected
    for i in range(4):
        words[100 + i] = (disk.sectors >> (16 * i)) & 0xFFFF
    words[106] = 1 << 14                        # word 106 valid
    if disk.sector_size != 512:
        words[106] |= 1 << 12                   # logical sector longer than 256 words
        words[117] = (disk.sector_size // 2) & 0xFFFF
        words[118] = (disk.sector_size // 2) >> 16
    data = bytearray(b''.join(w.to_bytes(2, 'little') for w in words))
    data[510] = 0xA5                            # integrity word: signature + checksum
    data[511] = (-sum(data[:511])) & 0xFF
    return bytes(data)


# ------------------------------------------------------------------------------------------
# The HBA.
# ------------------------------------------------------------------------------------------


class _HostBusFault(Exception):
    """Software gave the HBA a pointer it cannot follow (→ PxIS.HBFS)."""


class _Refused(_HostBusFault):
    """The DMA guard refused a PRDT region (→ PxIS.HBFS, nothing moved)."""

    def __init__(self, addr: int, nbytes: int):
        super().__init__(f'DMA to {addr:#x}+{nbytes:#x} refused')
        self.addr, self.nbytes = addr, nbytes


class _Overflow(Exception):
    """The PRDT is too short for the transfer (→ PxIS.OFS)."""


class _TaskFileError(Exception):
    """The device ends the command with ERR set (→ PxIS.TFES)."""

    def __init__(self, error: AtaError, lba: int = 0):
        super().__init__(error)
        self.error = error
        self.lba = lba


class _Command:
    """One issued slot, decoded when the port starts it."""

    def __init__(self, slot, header_addr, fis, prdt):
        self.slot = slot
        self.header_addr = header_addr
        self.fis = fis
        self.prdt = prdt            # [(address, byte count, interrupt)]
        self.ncq = fis.command in (AtaCommand.READ_FPDMA_QUEUED, AtaCommand.WRITE_FPDMA_QUEUED)
        self.tag = (fis.count >> 3) & 0x1F if self.ncq else None

    def sectors(self) -> int:
        """Transfer length in sectors; 0 in the count field means 65536."""
        if self.ncq:
            n = self.fis.features | self.fis.features_exp << 8
        else:
            n = self.fis.count
        return n or 0x10000


class _Port:
    def __init__(self, index: int, disk: DiskImage | None):
        self.index = index
        self.disk = disk
        self.generation = 0
        self.reset()

    def reset(self) -> None:
        present = self.disk is not None
        self.clb = self.fb = 0
        self.is_ = self.ie = 0
        # No staggered spin-up and no cold presence detect: SUD and POD read as 1 (§3.3.7).
        self.cmd = int(PortCmd.SUD | PortCmd.POD)
        self.tfd = int(STATUS_IDLE) if present else TFD_NO_DEVICE
        self.sig = SIG_ATA if present else SIG_NONE
        self.ssts = (SStatus.DET_PRESENT | SStatus.SPD_GEN2 | SStatus.IPM_ACTIVE) if present else 0
        self.sctl = self.serr = self.sact = self.ci = 0
        self.queue: deque[int] = deque()
        self.active: int | None = None      # clock handle of the command in flight
        self.halted = False                 # after a fatal error, until ST is cleared
        self.generation += 1                # callbacks of an older generation are stale

    @property
    def started(self) -> bool:
        return bool(self.cmd & _ST)


class AHCI:
    """The HBA: register window, command engine, latency model."""

    COMMAND_OVERHEAD_NS = 20_000        # per command: FIS exchanges and device setup
    TRANSFER_NS_PER_SECTOR = 2_000      # per 512 bytes moved
    FLUSH_NS = 50_000                   # extra for FLUSH CACHE (EXT): write-back to media

    def __init__(self, memory, clock, bus, base: int, irq_line: int,
                 disks: list, ports: int = 4, power: PowerSwitch | None = None):
        if not 1 <= ports <= MAX_PORTS:
            raise ValueError(f'an AHCI HBA has 1-32 ports, not {ports}')
        if len(disks) > ports:
            raise ValueError(f'{len(disks)} disks for {ports} ports')
        self.memory = memory
        self.clock = clock
        self.bus = bus
        self.base = base
        self.irq_line = irq_line
        self.power = power or PowerSwitch()     # shared by every controller of a machine
        self.nports = ports
        padded = list(disks) + [None] * (ports - len(disks))
        self.ports = [_Port(i, d) for i, d in enumerate(padded)]
        self.cap = (Cap.S64A | Cap.SNCQ | Cap.SAM | Cap.SCLO | (2 << CAP_ISS_SHIFT)
                    | ((COMMAND_SLOTS - 1) << CAP_NCS_SHIFT) | (ports - 1))
        self.pi = (1 << ports) - 1
        self._irq_asserted = False
        self.ghc = int(Ghc.AE)
        self.is_ = 0
        self.dma_guard = None       # (addr, nbytes) -> bool: may the HBA DMA there?
        self.observer = None        # (phase, port index, _Command | None) at start and end
        self.refusals: list[tuple[int, int]] = []     # regions the guard refused, in order
        self.transfers = 0          # data transfers this controller started (the switch counts all)
        self.cut_here = False       # the power failed during one of this controller's commands
        bus.map(base, ABAR_SIZE, self)

    # -- reset and shutdown ------------------------------------------------------------
    def reset(self) -> None:
        """GHC.HR: every port stopped and back to its reset values, interrupts off."""
        for port in self.ports:
            self._cancel(port)
            port.reset()
        self.ghc = int(Ghc.AE)      # CAP.SAM: AHCI-only, AE reads 1
        self.is_ = 0
        self._update_irq()

    def flush(self) -> None:
        """Write every disk's data to stable storage (call at machine shutdown)."""
        for port in self.ports:
            if port.disk is not None:
                port.disk.flush()

    # -- MMIO ----------------------------------------------------------------------------
    def mmio_read(self, offset: int, size: int) -> int:
        if size == 8:
            return self._read_dword(offset) | self._read_dword(offset + 4) << 32
        shift = (offset & 3) * 8
        return (self._read_dword(offset & ~3) >> shift) & ((1 << (8 * size)) - 1)

    def mmio_write(self, offset: int, size: int, value: int) -> None:
        # Registers are dwords; sub-dword writes are ignored (W1C bits make RMW unsafe).
        if size == 8:
            self._write_dword(offset, value & 0xFFFFFFFF)
            self._write_dword(offset + 4, value >> 32)
        elif size == 4 and offset % 4 == 0:
            self._write_dword(offset, value & 0xFFFFFFFF)

    def _port_at(self, offset: int) -> tuple['_Port | None', int]:
        index, reg = divmod(offset - PORT_BASE, PORT_STRIDE)
        if offset < PORT_BASE or index >= self.nports:
            return None, 0
        return self.ports[index], reg

    def _read_dword(self, offset: int) -> int:
        if offset < PORT_BASE:
            read = _HOST_READS.get(offset)
            return read(self) if read else 0
        port, reg = self._port_at(offset)
        read = _PORT_READS.get(reg) if port is not None else None
        return read(port) if read else 0

    def _write_dword(self, offset: int, value: int) -> None:
        if offset < PORT_BASE:
            self._write_host(offset, value)
            return
        port, reg = self._port_at(offset)
        if port is not None:
            self._write_port(port, reg, value)

    def _write_host(self, offset: int, value: int) -> None:
        if offset == HostReg.GHC:
            if value & Ghc.HR:
                self.reset()        # completes at once, so HR reads back 0
            else:
                self.ghc = int(Ghc.AE) | (value & _GHC_IE)
                self._update_irq()
        elif offset == HostReg.IS:
            self.is_ &= ~value
            self._update_irq()

    def _write_port(self, port: _Port, reg: int, value: int) -> None:
        if reg == PortReg.CLB:
            port.clb = (port.clb & ~0xFFFFFFFF) | (value & ~0x3FF)     # 1 KiB aligned
        elif reg == PortReg.CLBU:
            port.clb = (port.clb & 0xFFFFFFFF) | value << 32
        elif reg == PortReg.FB:
            port.fb = (port.fb & ~0xFFFFFFFF) | (value & ~0xFF)        # 256 B aligned
        elif reg == PortReg.FBU:
            port.fb = (port.fb & 0xFFFFFFFF) | value << 32
        elif reg == PortReg.IS:
            port.is_ &= ~value
            self._update_irq()
        elif reg == PortReg.IE:
            port.ie = value & int(PORT_IS_VALID)
            self._update_irq()
        elif reg == PortReg.CMD:
            self._write_cmd(port, value)
        elif reg == PortReg.SCTL:
            port.sctl = value & 0xFFF
        elif reg == PortReg.SERR:
            port.serr &= ~value
        elif reg == PortReg.SACT:
            if port.started:
                port.sact |= value
        elif reg == PortReg.CI:
            self._issue(port, value)

    def _write_cmd(self, port: _Port, value: int) -> None:
        start, fre = bool(value & _ST), bool(value & _FRE)
        if fre:
            port.cmd |= _FRE | _FR          # FIS receive runs at once
        else:
            port.cmd &= ~(_FRE | _FR)
        if start and not port.started:
            port.cmd |= _ST | _CR
        elif not start and port.started:
            self._stop(port)
        if value & int(PortCmd.CLO):
            # Command list override: forget a stuck BSY/DRQ; the bit clears itself.
            port.tfd &= ~(_BSY | _DRQ)

    def _stop(self, port: _Port) -> None:
        """ST 1 -> 0: abandon queued and in-flight commands, clear PxCI/PxSACT (§3.3.7)."""
        self._cancel(port)
        port.queue.clear()
        port.ci = port.sact = 0
        port.halted = False
        # The model abandons the command outright, so no device stays busy (no CLO needed).
        port.tfd &= ~(_BSY | _DRQ)
        port.generation += 1
        port.cmd &= ~(_ST | _CR | PXCMD_CCS_MASK)

    def _cancel(self, port: _Port) -> None:
        if port.active is not None:
            self.clock.cancel(port.active)
            port.active = None

    # -- interrupts ----------------------------------------------------------------------
    def _update_irq(self) -> None:
        """IS.IPS latches ports with an enabled PxIS bit; the line follows GHC.IE and IS.

        Software clears PxIS first and IS after; a port still pending sets IS again.
        """
        for port in self.ports:
            if port.is_ & port.ie:
                self.is_ |= 1 << port.index
        want = bool(self.ghc & _GHC_IE) and self.is_ != 0
        if want:
            self.bus.raise_irq(self.irq_line)
        elif self._irq_asserted:
            self.bus.lower_irq(self.irq_line)
        self._irq_asserted = want

    # -- command issue -------------------------------------------------------------------
    def _issue(self, port: _Port, value: int) -> None:
        # Slots written while the port is stopped, or with no device, are never run;
        # on real hardware they would simply time out.
        if not port.started or port.disk is None:
            return
        new = value & ~port.ci
        port.ci |= new
        port.queue.extend(slot for slot in range(COMMAND_SLOTS) if new >> slot & 1)
        self._start_next(port)

    def _start_next(self, port: _Port) -> None:
        if port.active is not None or port.halted or not port.queue:
            return
        slot = port.queue.popleft()
        port.cmd = (port.cmd & ~PXCMD_CCS_MASK) | slot << PXCMD_CCS_SHIFT
        try:
            cmd = self._fetch_command(port, slot)
        except (BusError, _HostBusFault):
            cmd = None              # reported when the slot "completes"
        if cmd is not None and cmd.fis.command in _TRANSFERS:
            self.transfers += 1
            if self.power.transfer_starting():
                self.cut_here = True
                self._power_cut(port, cmd)
        if cmd is not None and cmd.ncq:
            port.ci &= ~(1 << slot)  # the device accepted the queued command
        else:
            port.tfd |= _BSY            # the device owns the task file until it answers
        generation = port.generation
        if self.observer is not None:
            self.observer('issue', port.index, slot, cmd)
        port.active = self.clock.schedule_in(
            self._latency(port, cmd), lambda: self._complete(port, slot, cmd, generation))

    def _power_cut(self, port: _Port, cmd: _Command) -> None:
        """The power fails while `cmd` runs: a write reaches the media for its first
        sectors only (emu/powerfail.py says how many and why), then the machine stops."""
        op, disk = cmd.fis.command, port.disk
        torn = self.power.torn_sectors(cmd.sectors())
        if op in _WRITES and torn and cmd.fis.lba + torn <= disk.sectors:
            try:
                regions, _ = self._regions(cmd, torn * disk.sector_size)
                disk.write_from(cmd.fis.lba, regions)
            except (BusError, _HostBusFault, _Overflow, MediaError, Fenced, OSError):
                pass                # a command that could not have moved data moves none
        self.power.fail()

    def _latency(self, port: _Port, cmd: '_Command | None') -> int:
        """Fixed overhead plus transfer time; the disk's sectors count in 512-byte units."""
        if cmd is None:
            return self.COMMAND_OVERHEAD_NS
        op = cmd.fis.command
        if op in (AtaCommand.FLUSH_CACHE, AtaCommand.FLUSH_CACHE_EXT):
            return self.COMMAND_OVERHEAD_NS + self.FLUSH_NS
        if op == AtaCommand.IDENTIFY_DEVICE:
            sectors = 1
        elif op in _TRANSFERS:
            sectors = cmd.sectors() * port.disk.sector_size // 512
        else:
            sectors = 0
        return self.COMMAND_OVERHEAD_NS + sectors * self.TRANSFER_NS_PER_SECTOR

    def _fetch_command(self, port: _Port, slot: int) -> _Command:
        header_addr = port.clb + slot * ctypes.sizeof(CommandHeader)
        header = CommandHeader.from_buffer_copy(
            self.memory.read(header_addr, ctypes.sizeof(CommandHeader)))
        table = header.ctba & ~0x7F | header.ctbau << 32
        fis = H2DRegisterFis.from_buffer_copy(
            self.memory.read(table + CT_CFIS, ctypes.sizeof(H2DRegisterFis)))
        raw = self.memory.read(table + CT_PRDT, header.prdtl * ctypes.sizeof(PrdEntry))
        prdt = []
        for i in range(header.prdtl):
            entry = PrdEntry.from_buffer_copy(raw, i * ctypes.sizeof(PrdEntry))
            addr = entry.dba | entry.dbau << 32
            count = (entry.dbc & PRD_DBC_MASK) + 1
            if addr & 1 or count & 1:
                raise _HostBusFault('PRD region not word aligned')
            prdt.append((addr, count, bool(entry.dbc & PRD_INTERRUPT)))
        return _Command(slot, header_addr, fis, prdt)

    # -- command completion --------------------------------------------------------------
    def _complete(self, port: _Port, slot: int, cmd: '_Command | None', generation: int):
        if generation != port.generation:
            return                  # the port was stopped or reset meanwhile
        port.active = None
        outcome = 'error'
        try:
            if cmd is None:
                raise _HostBusFault('command header or table outside RAM')
            try:
                moved, interrupts = self._execute(port, cmd)
            except _TaskFileError as err:
                self._fail_task_file(port, cmd, err)
            else:
                self._finish(port, cmd, moved, interrupts)
                outcome = 'complete'
        except _Refused as refused:
            self.refusals.append((refused.addr, refused.nbytes))
            self._fail_fatal(port, int(PortIS.HBFS), int(SErr.ERR_E))
        except (BusError, _HostBusFault):
            self._fail_fatal(port, int(PortIS.HBFS), int(SErr.ERR_E))
        except _Overflow:
            self._fail_fatal(port, int(PortIS.OFS), 0)
        if self.observer is not None:
            self.observer(outcome, port.index, slot, cmd)
        self._update_irq()
        self._start_next(port)

    def _execute(self, port: _Port, cmd: _Command) -> tuple[int, bool]:
        """Run the ATA command; returns (bytes moved, a PRD with I was processed)."""
        disk, op = port.disk, cmd.fis.command
        if op == AtaCommand.IDENTIFY_DEVICE:
            return self._to_guest(cmd, identify_data(disk, f'UKERN{port.index:04d}'))
        if op in (AtaCommand.FLUSH_CACHE, AtaCommand.FLUSH_CACHE_EXT):
            try:
                disk.flush()
            except OSError:
                raise _TaskFileError(AtaError.ABRT) from None
            return 0, False
        if op not in _TRANSFERS:
            raise _TaskFileError(AtaError.ABRT)
        lba, count = cmd.fis.lba, cmd.sectors()
        if lba + count > disk.sectors:
            raise _TaskFileError(AtaError.IDNF, lba)
        nbytes = count * disk.sector_size
        regions, interrupts = self._regions(cmd, nbytes)
        try:
            if op in (AtaCommand.READ_DMA_EXT, AtaCommand.READ_FPDMA_QUEUED):
                disk.read_into(lba, regions)
            else:
                disk.write_from(lba, regions)
        except MediaError as err:
            raise _TaskFileError(self._media_error(op), err.lba) from None
        except Fenced as err:
            raise _TaskFileError(AtaError.IDNF, err.lba) from None
        except OSError:
            raise _TaskFileError(self._media_error(op), lba) from None
        return nbytes, interrupts

    @staticmethod
    def _media_error(op: int) -> AtaError:
        return AtaError.UNC if op in (AtaCommand.READ_DMA_EXT, AtaCommand.READ_FPDMA_QUEUED) \
            else AtaError.ABRT

    def _regions(self, cmd: _Command, nbytes: int) -> tuple[list, bool]:
        """The guest memory the PRDT names for the first `nbytes` of the transfer, as
        memoryviews of RAM (what the DMA engine reads or writes), and whether a region
        with the I bit was used.  Every region is checked before a byte moves, so a bad
        one fails the command with nothing moved."""
        view = self.memory.view
        regions, room, interrupts = [], 0, False
        for addr, count, ioc in cmd.prdt:
            if room >= nbytes:
                break
            count = min(count, nbytes - room)
            self.memory.check(addr, count)
            if self.dma_guard is not None and not self.dma_guard(addr, count):
                raise _Refused(addr, count)
            regions.append(view[addr:addr + count])
            room += count
            interrupts |= ioc
        if room < nbytes:
            raise _Overflow()
        return regions, interrupts

    def _to_guest(self, cmd: _Command, data: bytes) -> tuple[int, bool]:
        """Scatter `data` (a device-generated block, IDENTIFY's) over the PRDT regions."""
        regions, interrupts = self._regions(cmd, len(data))
        done = 0
        for region in regions:
            region[:] = data[done:done + len(region)]
            done += len(region)
        return done, interrupts

    def _finish(self, port: _Port, cmd: _Command, moved: int, interrupts: bool) -> None:
        """Success: PRDBC, received FIS, task file, PxCI/PxSACT, PxIS."""
        prdbc = cmd.header_addr + CommandHeader.prdbc.offset
        self.memory.write(prdbc, moved.to_bytes(4, 'little'))
        if interrupts:
            port.is_ |= _DPS
        port.tfd = _STATUS_IDLE
        if cmd.ncq:
            self._post_sdb(port, _STATUS_IDLE, 0, 1 << cmd.tag)
            port.sact &= ~(1 << cmd.tag)
            port.is_ |= _SDBS
        else:
            self._post_d2h(port, _STATUS_IDLE, 0, cmd.fis.lba)
            port.ci &= ~(1 << cmd.slot)
            port.is_ |= _DHRS

    def _fail_task_file(self, port: _Port, cmd: _Command, err: _TaskFileError) -> None:
        """ERR from the device.  PxCI (and PxSACT) keep the failed slot so the driver can
        see which command failed; the port halts until the driver clears PxCMD.ST, waits
        for CR to clear, clears PxSERR and PxIS, sets ST again and reissues (§6.2.2)."""
        status = _STATUS_IDLE | _ERR
        port.tfd = int(status) | int(err.error) << TFD_ERROR_SHIFT
        self._post_d2h(port, status, err.error, err.lba)
        port.is_ |= _TFES | _DHRS
        port.halted = True

    def _fail_fatal(self, port: _Port, status_bit: PortIS, serr: int) -> None:
        """HBFS/OFS: nothing posted (the FIS area may be the bad pointer); halt the port."""
        port.is_ |= status_bit
        port.serr |= serr
        port.halted = True

    def _post_d2h(self, port: _Port, status: int, error: int, lba: int) -> None:
        if not port.cmd & _FRE:
            return
        fis = D2HRegisterFis(fis_type=FisType.REG_D2H, pm_i=FIS_I, status=status,
                             error=error, device=DEVICE_LBA)
        fis.lba = lba
        self.memory.write(port.fb + RFIS_D2H, bytes(fis))

    def _post_sdb(self, port: _Port, status: int, error: int, sactive: int) -> None:
        if not port.cmd & _FRE:
            return
        fis = SetDeviceBitsFis(fis_type=FisType.SET_DEVICE_BITS, pm_i_n=FIS_I,
                               status=status & 0x77, error=error, sactive=sactive)
        self.memory.write(port.fb + RFIS_SDB, bytes(fis))


# What each register reads as (AHCI 1.3.1 §3.1, §3.3); unlisted offsets read 0.
_HOST_READS = {
    HostReg.CAP: lambda hba: int(hba.cap), HostReg.GHC: lambda hba: hba.ghc,
    HostReg.IS: lambda hba: hba.is_, HostReg.PI: lambda hba: hba.pi,
    HostReg.VS: lambda hba: AHCI_VERSION_1_3_1, HostReg.CAP2: lambda hba: 0,
}
_PORT_READS = {
    PortReg.CLB: lambda p: p.clb & 0xFFFFFFFF, PortReg.CLBU: lambda p: p.clb >> 32,
    PortReg.FB: lambda p: p.fb & 0xFFFFFFFF, PortReg.FBU: lambda p: p.fb >> 32,
    PortReg.IS: lambda p: p.is_, PortReg.IE: lambda p: p.ie, PortReg.CMD: lambda p: p.cmd,
    PortReg.TFD: lambda p: p.tfd, PortReg.SIG: lambda p: p.sig, PortReg.SSTS: lambda p: int(p.ssts),
    PortReg.SCTL: lambda p: p.sctl, PortReg.SERR: lambda p: p.serr, PortReg.SACT: lambda p: p.sact,
    PortReg.CI: lambda p: p.ci,
}

_TRANSFERS = (AtaCommand.READ_DMA_EXT, AtaCommand.WRITE_DMA_EXT,
              AtaCommand.READ_FPDMA_QUEUED, AtaCommand.WRITE_FPDMA_QUEUED)
_WRITES = (AtaCommand.WRITE_DMA_EXT, AtaCommand.WRITE_FPDMA_QUEUED)
