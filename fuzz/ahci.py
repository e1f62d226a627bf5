"""The AHCI fuzzer: the HBA model (emu/ahci.py) driven from the driver's side, as a buggy
or hostile driver would: random register writes (any offset, size and value, in and out of
order: starting ports without a command list, issuing slots while stopped, resetting in
the middle of a command) and malformed command lists and tables (zero-length and odd PRDT
entries, addresses past RAM, more entries than the table holds, bad FIS types and lengths,
unknown commands, LBAs past the disk, NCQ tags that do not match their slots).

The property (emu/ahci.py's promise): guest mistakes become AHCI error states, never Python
exceptions out of the device.  Each input is a replayable list of operations:
  ('w', offset, size, value)   a register write      ('r', offset, size)  a register read
  ('m', address, hex bytes)    a write to RAM        ('t', n)   let n clock events happen
"""

import ctypes
import hashlib
import json
import random
import tempfile
from pathlib import Path

from .common import Finding, guarded, save

RAM = 1 << 20
SECTORS = 2048
ABAR = 0xFEB0_0000
CLB, FB, TABLES, DATA = 0x10000, 0x14000, 0x20000, 0x80000
MAX_EVENTS = 2000                   # clock events per input: every command ends long before


def _regs():
    from emu.ahci import HostReg, PortReg, port_reg
    host = [int(r) for r in HostReg]
    ports = [port_reg(p, r) for p in range(3) for r in PortReg]
    return host, ports


def _value(rng: random.Random) -> int:
    return rng.choice((0, 1, 0xFFFFFFFF, 0x80000000, 0x11, 0x10, 0x6, rng.getrandbits(32),
                       1 << rng.randrange(32), rng.randrange(0x100000)))


def _setup(rng: random.Random, port: int) -> list:
    """A driver's start of a port, each step perhaps skipped or wrong."""
    from emu.ahci import PortCmd, PortReg, port_reg, PortIS, Ghc, HostReg
    steps = [('w', port_reg(port, PortReg.CLB), 4, CLB + port * 0x400),
             ('w', port_reg(port, PortReg.FB), 4, FB + port * 0x100),
             ('w', port_reg(port, PortReg.CMD), 4, int(PortCmd.FRE)),
             ('w', port_reg(port, PortReg.CMD), 4, int(PortCmd.FRE | PortCmd.ST)),
             ('w', port_reg(port, PortReg.IE), 4, int(PortIS.DHRS | PortIS.SDBS | PortIS.TFES | PortIS.HBFS)),
             ('w', int(HostReg.GHC), 4, int(Ghc.AE | Ghc.IE))]
    out = []
    for op in steps:
        roll = rng.random()
        if roll < 0.05:
            continue
        if roll < 0.12:
            op = (op[0], op[1], op[2], _value(rng))
        out.append(op)
    return out


def _command(rng: random.Random, port: int, slot: int) -> list:
    """The header, FIS and PRDT of one slot, with a few fields made wrong."""
    from emu.ahci import (AtaCommand, CommandHeader, CommandHeaderFlags, H2DRegisterFis, FisType,
                          H2D_C, DEVICE_LBA, PrdEntry, CT_CFIS, CT_PRDT, PRD_INTERRUPT)
    bad = lambda p: rng.random() < p                                          # noqa: E731
    table = TABLES + (port * 32 + slot) * 0x400
    if bad(0.1):
        table = rng.choice((RAM - 0x40, RAM, RAM + 0x1000, 1 << 40, table + 4, 0))
    command = rng.choice(list(AtaCommand)) if not bad(0.15) else rng.randrange(256)
    count = rng.choice((1, 1, 2, 8, 0, 255, 256, 65535))
    lba = rng.choice((0, 5, SECTORS - 1, SECTORS - count, SECTORS, SECTORS + 100, (1 << 48) - 1))
    fis = H2DRegisterFis(fis_type=FisType.REG_H2D if not bad(0.1) else rng.randrange(256),
                         pm_c=H2D_C if not bad(0.1) else rng.randrange(256), command=int(command),
                         device=DEVICE_LBA, count=count & 0xFFFF)
    fis.lba = lba
    if command in (AtaCommand.READ_FPDMA_QUEUED, AtaCommand.WRITE_FPDMA_QUEUED):
        tag = slot if not bad(0.2) else rng.randrange(32)
        fis.features, fis.features_exp, fis.count = count & 0xFF, (count >> 8) & 0xFF, tag << 3
    nprd = rng.choice((1, 1, 2, 0, 3, 8, 200, 65535))
    write = command in (AtaCommand.WRITE_DMA_EXT, AtaCommand.WRITE_FPDMA_QUEUED)
    cfl = 5 if not bad(0.1) else rng.randrange(32)
    flags = cfl | (int(CommandHeaderFlags.W) if write ^ bad(0.1) else 0)
    if bad(0.05):
        flags |= rng.getrandbits(16)
    header = CommandHeader(flags=flags & 0xFFFF, prdtl=nprd, ctba=table & 0xFFFFFFFF, ctbau=table >> 32)
    ops = [('m', CLB + port * 0x400 + slot * 32, bytes(header).hex())]
    if table + 0x80 > RAM:
        return ops
    ops.append(('m', table + CT_CFIS, bytes(fis).hex()))
    entries = b''
    for i in range(min(nprd, (0x400 - CT_PRDT) // 16, (RAM - table - CT_PRDT) // 16)):
        n = max(512 * count // max(nprd, 1), 2) if not bad(0.2) else rng.choice((1, 0x400000, 3, 511))
        addr = DATA + i * 0x2000 if not bad(0.15) else rng.choice((RAM - 2, RAM, 1 << 40, 1, 0))
        entries += bytes(PrdEntry(dba=addr & 0xFFFFFFFF, dbau=addr >> 32,
                                  dbc=((n - 1) & 0x3FFFFF) | (PRD_INTERRUPT if rng.random() < 0.5 else 0)))
    ops.append(('m', table + CT_PRDT, entries.hex()))
    return ops


def generate(rng: random.Random) -> list:
    from emu.ahci import PortReg, port_reg, ABAR_SIZE
    host, ports = _regs()
    ops = []
    for port in range(rng.choice((1, 1, 2))):
        ops += _setup(rng, port)
    for _ in range(rng.randrange(1, 8)):
        roll = rng.random()
        port = rng.choice((0, 0, 1))
        if roll < 0.45:
            slots = rng.sample(range(32), rng.choice((1, 1, 2, 4)))
            for slot in slots:
                ops += _command(rng, port, slot)
            mask = sum(1 << s for s in slots)
            if rng.random() < 0.3:
                ops.append(('w', port_reg(port, PortReg.SACT), 4, mask))
            ops.append(('w', port_reg(port, PortReg.CI), 4, mask))
        elif roll < 0.75:
            reg = rng.choice(host + ports) if rng.random() < 0.8 else rng.randrange(ABAR_SIZE)
            ops.append(('w', reg, rng.choice((4, 4, 4, 1, 2, 8)), _value(rng)))
        elif roll < 0.85:
            ops.append(('r', rng.choice(host + ports), 4))
        ops.append(('t', rng.choice((0, 1, 3, MAX_EVENTS))))
    ops.append(('t', MAX_EVENTS))
    return ops


def run_ops(ops: list) -> str:
    """Apply the operations to a fresh HBA; the ports' final state, or an exception."""
    from emu.ahci import AHCI, PortIS, PortReg, port_reg
    from emu.bus import Bus
    from emu.clock import Clock
    from emu.disk_image import DiskImage
    from emu.memory import PhysicalMemory
    with tempfile.TemporaryDirectory(prefix='ukern-fuzz-ahci-') as where:
        disk = DiskImage.create(Path(where) / 'disk.img', SECTORS)
        memory, clock, bus = PhysicalMemory(RAM), Clock(), Bus()
        AHCI(memory, clock, bus, ABAR, 11, [disk], ports=2)
        try:
            for op in ops:
                _apply(op, memory, clock, bus)
            states = []
            for port in range(2):
                bits = bus.read(ABAR + port_reg(port, PortReg.IS))
                errors = PortIS(bits) & (PortIS.TFES | PortIS.HBFS | PortIS.HBDS | PortIS.IFS | PortIS.OFS)
                tfd = bus.read(ABAR + port_reg(port, PortReg.TFD)) & 0xFF
                busy = bus.read(ABAR + port_reg(port, PortReg.CI)) != 0
                states.append(f'{errors.name or "no error"}{" ERR" if tfd & 1 else ""}{" busy" if busy else ""}')
            return ' / '.join(states)
        finally:
            disk.close()


def _apply(op, memory, clock, bus) -> None:
    kind = op[0]
    if kind == 'w':
        bus.write(ABAR + op[1], op[3], op[2])
    elif kind == 'r':
        bus.read(ABAR + op[1], op[2])
    elif kind == 'm':
        data = bytes.fromhex(op[2])
        memory.write(op[1], data[:max(0, RAM - op[1])])
    else:
        for _ in range(op[1]):
            t = clock.next_event()
            if t is None:
                break
            clock.advance_to(t)
            clock.fire_due()


def fuzz(tally, rng: random.Random, count: int, keep: bool = True) -> None:
    for _ in range(count):
        ops = generate(rng)
        try:
            tally.record(guarded(run_ops, ops))
        except Finding as f:
            meta = {'ops': ops, 'finding': f.text.strip().splitlines()[-1]}
            name = 'ahci-' + hashlib.sha1(json.dumps(ops).encode()).hexdigest()[:12]
            tally.finding(f, save('ahci', name, b'', meta) if keep else '')


def replay(path: Path, meta: dict) -> str:
    return run_ops([tuple(op) for op in meta['ops']])
