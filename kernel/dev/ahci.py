"""The AHCI driver: SATA disks behind an AHCI 1.3.1 host bus adapter.

The driver sees the HBA only as hardware: registers in the ABAR window (MMIO through the
machine's Bus at AHCI_BASE + offset) and the structures it lays out in kernel frames (per
port one frame holding the 1 KiB command list and, at +0x400, the 256-byte received-FIS
area; one frame per command slot for its command table: CFIS at 0x00, PRDT at 0x80, room
for MAX_PRDT entries).  Every register offset, bit and structure comes from emu/ahci.py,
where the hardware's layout is declared once.

Boot: `attach(kernel)` makes the driver (which takes only what it uses: the bus, memory,
frame allocator, clock, tracer and wake function), connects its interrupt handler and
calls `probe`, which resets the HBA, starts every port with a device, sends IDENTIFY DEVICE
and returns Disk objects (port, sectors, sector size, model); each disk has a BlockQueue
(kernel/dev/blk.py) to submit BlockRequests to.

Top half: BlockQueue.submit schedules a zero-delay "unplug" event; when it fires the
driver fills free command slots (at most `depth` commands in flight per port) with the
elevator's next commands, writing PxCI one slot at a time so the port runs them in the
elevator's order (READ/WRITE DMA EXT, no NCQ).

Bottom half: `interrupt()` (kernel.irq_handlers[IRQ_AHCI]) reads IS, clears each port's
PxIS, finishes every in-flight slot whose PxCI bit has cleared, and on a fatal port error
(TFES from a medium error, HBFS from a bad pointer, OFS, ...) fails the command in
PxCMD.CCS with -EIO, recovers the port (clear ST, wait for CR to clear, clear PxSERR and
PxIS, set ST: AHCI §6.2.2) and reissues the commands that had not run.  A failed command
that carried several merged requests is split: its requests go back to the queue to be
retried one by one, so only the request that touches the bad sector fails.  Finally it
clears IS, wakes the requests' waiters, runs their on_done callbacks and issues queued
work.

Trace events ('dma', when the tracer is enabled): phase 'issue' and 'complete' with disk
(port), slot, lba, sectors, write, command (a non-data command's opcode, else None), ata
(the opcode the slot is issued as), frames (hex), requests (how many were merged), and on
completion error and latency (virtual ns).
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field

from emu.ahci import (
    CAP_NCS_SHIFT, COMMAND_SLOTS, CT_CFIS, CT_PRDT, DEVICE_LBA, H2D_C, PORT_IS_FATAL,
    PRD_DBC_MASK, PXCMD_CCS_MASK, PXCMD_CCS_SHIFT, RFIS_D2H, SIG_ATA, SSTS_DET_MASK,
    TFD_ERROR_SHIFT, AtaCommand, AtaStatus, CommandHeader, CommandHeaderFlags,
    D2HRegisterFis, FisType, Ghc, H2DRegisterFis, HostReg, PortCmd, PortIS, PortReg,
    PrdEntry, SStatus, port_reg,
)
from emu.machine import AHCI_BASE, IRQ_AHCI
from kernel.errno import Errno
from kernel.mm.frames import PAGE_SIZE

from .blk import BlockQueue, BlockRequest

CMD_LIST_SIZE = COMMAND_SLOTS * ctypes.sizeof(CommandHeader)      # 1 KiB
RFIS_OFFSET = 0x400                     # received-FIS area within the port's frame
MAX_PRDT = (PAGE_SIZE - CT_PRDT) // ctypes.sizeof(PrdEntry)      # 248 entries per table
MAX_PRD_BYTES = PRD_DBC_MASK + 1        # 4 MiB per PRDT entry
# The elevator builds commands of at most 256 KiB (Linux's max_sectors_kb is of this order):
# one command completes as a whole, so smaller commands let the first pages of a large
# request arrive (and their waiters run) while the rest are still on their way.
MAX_SECTORS = 512
DEFAULT_DEPTH = 4                       # commands in flight per port
POLL_LIMIT = 1000                       # register polls before a wait is declared stuck
CFIS_DWORDS = ctypes.sizeof(H2DRegisterFis) // 4
_TFES = int(PortIS.TFES)      # a plain int for the bottom half (IntFlag arithmetic is slow)
PORT_IE = (PortIS.DHRS | PortIS.PSS | PortIS.DSS | PortIS.SDBS | PortIS.UFS | PortIS.DPS
           | PortIS.TFES | PortIS.HBFS | PortIS.HBDS | PortIS.IFS | PortIS.OFS)


class AhciError(Exception):
    pass


@dataclass
class Disk:
    """A disk found on a port at the probe, with what IDENTIFY DEVICE said of it."""
    port: int
    sectors: int = 0
    sector_size: int = 512
    model: str = ''
    serial: str = ''
    queue: BlockQueue | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return f'ahci{self.port}'

    @property
    def size(self) -> int:
        return self.sectors * self.sector_size


class _Command:
    """One command in a slot: the requests it serves and what it was issued as."""

    def __init__(self, slot: int, reqs: list[BlockRequest], issued_at: int):
        self.slot = slot
        self.reqs = reqs
        self.issued_at = issued_at
        first = reqs[0]
        self.lba = first.lba
        self.sectors = sum(r.sectors for r in reqs)
        self.write = first.write
        self.command = first.command
        self.segments = [s for r in reqs for s in r.segments]
        self.ata_status = self.ata_error = self.fail_lba = None     # set when it fails


def _opcode(cmd: _Command) -> AtaCommand:
    """The ATA command a slot is issued as: its own (a flush), or a DMA read or write."""
    if cmd.command is not None:
        return AtaCommand(cmd.command)
    return AtaCommand.WRITE_DMA_EXT if cmd.write else AtaCommand.READ_DMA_EXT


class _PortState:
    def __init__(self, index: int, disk: Disk, base_frame: int, tables: list[int], bucket: int):
        self.index = index
        self.disk = disk
        self.clb = base_frame
        self.fb = base_frame + RFIS_OFFSET
        self.tables = tables            # command table address per slot
        self.bucket = bucket            # a frame for sectors read that nobody wants
        self.inflight: dict[int, _Command] = {}
        self.order: list[int] = []      # slots in the order they were issued

    def free_slot(self) -> int | None:
        for slot in range(len(self.tables)):
            if slot not in self.inflight:
                return slot
        return None


def attach(kernel, base: int = AHCI_BASE, irq: int = IRQ_AHCI) -> 'AhciDriver':
    """At boot: the driver of the HBA at `base`, its interrupt handler connected, probed
    (driver.disks); kernel/check.py finds it as kernel.ahci_driver."""
    machine = kernel.machine
    driver = AhciDriver(machine.bus, machine.memory, kernel.frames, kernel.clock, kernel.trace,
                        kernel.wake, base, irq)
    kernel.ahci_driver = driver
    kernel.irq_handlers[irq] = driver.interrupt
    driver.probe(kernel.run_until)
    return driver


class AhciDriver:
    def __init__(self, bus, memory, frames, clock, tracer, wake, base: int = AHCI_BASE,
                 irq: int = IRQ_AHCI, depth: int = DEFAULT_DEPTH):
        self.bus = bus
        self.memory = memory
        self.frames = frames
        self.clock = clock
        self.tracer = tracer            # 'dma' events
        self.wake = wake                # wake(process): a finished request's waiters
        self.base = base
        self.irq = irq
        self.depth = depth
        self.ports: dict[int, _PortState] = {}
        self.disks: list[Disk] = []
        self._unplug_pending = False
        # statistics
        self.interrupts = 0
        self.errors = 0
        self.recoveries = 0

    # -- registers -----------------------------------------------------------------------
    def _read(self, offset: int) -> int:
        return self.bus.read(self.base + offset)

    def _write(self, offset: int, value: int) -> None:
        self.bus.write(self.base + offset, int(value))

    def _pread(self, port: int, reg: PortReg) -> int:
        return self._read(port_reg(port, reg))

    def _pwrite(self, port: int, reg: PortReg, value: int) -> None:
        self._write(port_reg(port, reg), value)

    def _poll(self, what: str, done) -> None:
        """Wait for a register condition the HBA meets on its own (reset, CR, FR)."""
        for _ in range(POLL_LIMIT):
            if done():
                return
        raise AhciError(f'AHCI: timed out waiting for {what}')

    # -- probe ---------------------------------------------------------------------------
    def probe(self, run_until) -> list[Disk]:
        """Reset the HBA, start every port with a disk, IDENTIFY each (waiting with
        run_until(done), the interrupt handler connected); returns the disks."""
        try:
            cap = self._read(HostReg.CAP)
        except ValueError:
            return []               # no HBA on this machine
        self._write(HostReg.GHC, Ghc.AE)
        self._write(HostReg.GHC, Ghc.AE | Ghc.HR)
        self._poll('GHC.HR to clear', lambda: not self._read(HostReg.GHC) & Ghc.HR)
        self._write(HostReg.GHC, Ghc.AE)
        nslots = ((cap >> CAP_NCS_SHIFT) & 0x1F) + 1
        pi = self._read(HostReg.PI)
        for port in range(32):
            if not pi >> port & 1:
                continue
            if self._pread(port, PortReg.SSTS) & SSTS_DET_MASK != SStatus.DET_PRESENT:
                continue
            if self._pread(port, PortReg.SIG) != SIG_ATA:
                continue            # ATAPI, port multipliers: not supported
            self._start_port(port, nslots)
        self._write(HostReg.GHC, Ghc.AE | Ghc.IE)
        identify = {}
        for index, state in self.ports.items():
            frame = self.frames.alloc()
            req = BlockRequest(state.disk, 0, 0, [(frame, 512)],
                               command=AtaCommand.IDENTIFY_DEVICE)
            state.disk.queue.submit(req)
            identify[index] = (req, frame)
        run_until(lambda: all(r.done for r, _ in identify.values()))
        for index, (req, frame) in identify.items():
            data = self.memory.read(frame, 512)
            self.frames.release(frame)
            disk = self.ports[index].disk
            if req.error or not self._parse_identify(disk, data):
                self._drop_port(index)
                continue
            self.disks.append(disk)
        return list(self.disks)

    def _start_port(self, port: int, nslots: int) -> None:
        self._stop_port(port)
        frames = self.frames
        base = frames.alloc()
        frames.pin(base)
        tables = []
        for _ in range(min(nslots, COMMAND_SLOTS)):
            table = frames.alloc()
            frames.pin(table)
            tables.append(table)
        bucket = frames.alloc()
        frames.pin(bucket)
        disk = Disk(port)
        state = _PortState(port, disk, base, tables, bucket)
        disk.queue = BlockQueue(disk, self._kick, frames)
        self._pwrite(port, PortReg.CLB, state.clb & 0xFFFFFFFF)
        self._pwrite(port, PortReg.CLBU, state.clb >> 32)
        self._pwrite(port, PortReg.FB, state.fb & 0xFFFFFFFF)
        self._pwrite(port, PortReg.FBU, state.fb >> 32)
        self._pwrite(port, PortReg.SERR, 0xFFFFFFFF)
        self._pwrite(port, PortReg.IS, 0xFFFFFFFF)
        self._pwrite(port, PortReg.CMD, PortCmd.FRE)
        self._poll('PxCMD.FR', lambda: self._pread(port, PortReg.CMD) & PortCmd.FR)
        self._pwrite(port, PortReg.CMD, PortCmd.FRE | PortCmd.ST)
        self._pwrite(port, PortReg.IE, PORT_IE)
        self.ports[port] = state

    def _drop_port(self, index: int) -> None:
        """A port whose disk did not answer IDENTIFY: stop it, then give back the frames of
        its command list, received-FIS area, command tables and bit bucket (pinned since
        _start_port)."""
        self._stop_port(index)
        state = self.ports.pop(index)
        frames = self.frames
        for frame in [state.clb] + state.tables + [state.bucket]:
            frames.unpin(frame)
            frames.release(frame)

    def _stop_port(self, port: int) -> None:
        cmd = self._pread(port, PortReg.CMD)
        if cmd & (PortCmd.ST | PortCmd.CR):
            self._pwrite(port, PortReg.CMD, cmd & ~PortCmd.ST & 0xFFFFFFFF)
            self._poll('PxCMD.CR to clear', lambda: not self._pread(port, PortReg.CMD) & PortCmd.CR)
        cmd = self._pread(port, PortReg.CMD)
        if cmd & (PortCmd.FRE | PortCmd.FR):
            self._pwrite(port, PortReg.CMD, cmd & ~(PortCmd.FRE | PortCmd.ST) & 0xFFFFFFFF)
            self._poll('PxCMD.FR to clear', lambda: not self._pread(port, PortReg.CMD) & PortCmd.FR)

    @staticmethod
    def _parse_identify(disk: Disk, data: bytes) -> bool:
        words = [int.from_bytes(data[2 * i:2 * i + 2], 'little') for i in range(256)]

        def string(first: int, nwords: int) -> str:
            raw = b''.join(words[first + i].to_bytes(2, 'big') for i in range(nwords))
            return raw.decode('ascii', errors='replace').strip()

        if words[83] & (1 << 10):                   # LBA48 supported
            sectors = sum(words[100 + i] << (16 * i) for i in range(4))
        else:
            sectors = words[60] | words[61] << 16
        sector_size = 512
        if words[106] & 0xC000 == 0x4000 and words[106] & (1 << 12):
            sector_size = 2 * (words[117] | words[118] << 16)
        if not sectors:
            return False
        disk.sectors, disk.sector_size = sectors, sector_size
        disk.model, disk.serial = string(27, 20), string(10, 10)
        return True

    # -- top half: issuing commands -------------------------------------------------------
    def _kick(self) -> None:
        """A request was submitted: dispatch at the next event delivery (plugging)."""
        if not self._unplug_pending:
            self._unplug_pending = True
            self.clock.schedule_in(0, self._unplug)

    def _unplug(self) -> None:
        self._unplug_pending = False
        for state in self.ports.values():
            self._dispatch(state)

    def _dispatch(self, state: _PortState) -> None:
        queue = state.disk.queue
        while len(state.inflight) < self.depth and queue.pending:
            slot = state.free_slot()
            if slot is None:
                return
            reqs = queue.next_command(MAX_PRDT, MAX_SECTORS)
            if reqs is None:
                return
            cmd = _Command(slot, reqs, self.clock.now)
            self._build(state, cmd)
            self._issue(state, cmd)

    def _build(self, state: _PortState, cmd: _Command) -> None:
        """Lay out the command header, command FIS and PRDT for cmd's slot."""
        table = state.tables[cmd.slot]
        prds = []
        for addr, n in cmd.segments:
            if addr is None:                    # discarded sectors (a page at most)
                addr = state.bucket
            while n > 0:
                piece = min(n, MAX_PRD_BYTES)
                prds.append(PrdEntry(dba=addr & 0xFFFFFFFF, dbau=addr >> 32,
                                     dbc=(piece - 1) & PRD_DBC_MASK))
                addr += piece
                n -= piece
        if len(prds) > MAX_PRDT:
            raise AhciError(f'{len(prds)} PRDT entries: the command table holds {MAX_PRDT}')
        count = 0 if cmd.command is not None else cmd.sectors
        fis = H2DRegisterFis(fis_type=FisType.REG_H2D, pm_c=H2D_C, command=_opcode(cmd),
                             device=DEVICE_LBA, count=count)
        fis.lba = cmd.lba if cmd.command is None else 0
        self.memory.write(table + CT_CFIS, bytes(fis))
        if prds:
            self.memory.write(table + CT_PRDT, b''.join(bytes(p) for p in prds))
        flags = CFIS_DWORDS | (CommandHeaderFlags.W if cmd.write else 0)
        header = CommandHeader(flags=flags, prdtl=len(prds), prdbc=0,
                               ctba=table & 0xFFFFFFFF, ctbau=table >> 32)
        self.memory.write(state.clb + cmd.slot * ctypes.sizeof(CommandHeader), bytes(header))

    def _issue(self, state: _PortState, cmd: _Command) -> None:
        state.inflight[cmd.slot] = cmd
        state.order.append(cmd.slot)
        if self.tracer.enabled:
            self._trace('issue', state, cmd, reordered_so_far=state.disk.queue.reorders)
        self._pwrite(state.index, PortReg.CI, 1 << cmd.slot)

    def _trace(self, phase: str, state: _PortState, cmd: _Command, **extra) -> None:
        frames = []
        for r in cmd.reqs:
            frames += [hex(f) for f in r.frames() if hex(f) not in frames]
        self.tracer.note('dma', 0, phase=phase, disk=state.index, slot=cmd.slot,
                         lba=cmd.lba, sectors=cmd.sectors, write=cmd.write,
                         command=int(cmd.command) if cmd.command is not None else None,
                         ata=int(_opcode(cmd)), frames=frames, requests=len(cmd.reqs), **extra)

    # -- bottom half ---------------------------------------------------------------------
    def interrupt(self) -> None:
        self.interrupts += 1
        is_ = self._read(HostReg.IS)
        finished: list[tuple[_Command, int]] = []
        for index, state in self.ports.items():
            if not is_ >> index & 1:
                continue
            pis = self._pread(index, PortReg.IS)
            self._pwrite(index, PortReg.IS, pis)
            finished += self._port_interrupt(state, pis)
        self._write(HostReg.IS, is_)
        for state, cmd, error in finished:
            self._complete(state, cmd, error)
        for state in self.ports.values():
            self._dispatch(state)

    def _port_interrupt(self, state: _PortState, pis: int) -> list:
        index = state.index
        ci = self._pread(index, PortReg.CI)
        done = []
        failed_slot = None
        if pis & PORT_IS_FATAL:
            failed_slot = (self._pread(index, PortReg.CMD) & PXCMD_CCS_MASK) >> PXCMD_CCS_SHIFT
            if failed_slot not in state.inflight or not ci >> failed_slot & 1:
                # CCS does not name a pending slot: the port runs in issue order, so the
                # first issued slot still set in PxCI is the one that failed.
                failed_slot = next((s for s in state.order if ci >> s & 1), None)
        for slot in list(state.order):
            if not ci >> slot & 1 and slot != failed_slot:
                done.append((state, self._retire(state, slot), 0))
        if failed_slot is not None:
            cmd = self._retire(state, failed_slot)
            self.errors += 1
            tfd = self._pread(index, PortReg.TFD)
            d2h = D2HRegisterFis.from_buffer_copy(self.memory.read(state.fb + RFIS_D2H,
                                                                   ctypes.sizeof(D2HRegisterFis)))
            self._recover(state)
            if len(cmd.reqs) > 1:
                # Retry the merged requests one by one so only the bad one fails.
                for r in cmd.reqs:
                    r.solo = True
                    state.disk.queue.requeue(r)
                if self.tracer.enabled:
                    self._trace('complete', state, cmd, error=-Errno.EIO, retried=True,
                                latency=self.clock.now - cmd.issued_at)
            else:
                cmd.ata_status = tfd & 0xFF
                cmd.ata_error = (tfd >> TFD_ERROR_SHIFT) & 0xFF
                cmd.fail_lba = d2h.lba if pis & _TFES else None
                done.append((state, cmd, -Errno.EIO))
        return done

    def _retire(self, state: _PortState, slot: int) -> _Command:
        state.order.remove(slot)
        return state.inflight.pop(slot)

    def _recover(self, state: _PortState) -> None:
        """AHCI §6.2.2: restart a halted port and reissue the commands that had not run."""
        self.recoveries += 1
        index = state.index
        cmd = self._pread(index, PortReg.CMD)
        self._pwrite(index, PortReg.CMD, cmd & ~PortCmd.ST & 0xFFFFFFFF)
        self._poll('PxCMD.CR to clear', lambda: not self._pread(index, PortReg.CMD) & PortCmd.CR)
        if self._pread(index, PortReg.TFD) & (AtaStatus.BSY | AtaStatus.DRQ):
            self._pwrite(index, PortReg.CMD, (cmd & ~PortCmd.ST | PortCmd.CLO) & 0xFFFFFFFF)
        self._pwrite(index, PortReg.SERR, 0xFFFFFFFF)
        self._pwrite(index, PortReg.IS, 0xFFFFFFFF)
        self._pwrite(index, PortReg.CMD, PortCmd.FRE | PortCmd.ST)
        for slot in list(state.order):          # clearing ST dropped PxCI: reissue in order
            header = state.clb + slot * ctypes.sizeof(CommandHeader) + CommandHeader.prdbc.offset
            self.memory.write_u32(header, 0)
            self._pwrite(index, PortReg.CI, 1 << slot)

    def _complete(self, state: _PortState, cmd: _Command, error: int) -> None:
        if not error and cmd.command is None:
            header = state.clb + cmd.slot * ctypes.sizeof(CommandHeader) + CommandHeader.prdbc.offset
            if self.memory.read_u32(header) != cmd.sectors * state.disk.sector_size:
                error = -Errno.EIO              # short transfer
        if self.tracer.enabled:
            extra = {}
            if cmd.ata_error is not None:
                extra = dict(ata_status=cmd.ata_status, ata_error=cmd.ata_error,
                             fail_lba=cmd.fail_lba)
            self._trace('complete', state, cmd, error=error,
                        latency=self.clock.now - cmd.issued_at, **extra)
        now = self.clock.now
        for r in cmd.reqs:
            state.disk.queue.release(r)
        for r in cmd.reqs:
            r.complete(error, self.wake, now)
