"""The machine: one x86-64 CPU, physical RAM, a virtual clock, a bus with devices.

Physical layout (what a kernel on this machine may rely on):
  [0, LOW_RESERVED)        firmware area: the sysret trampoline frame and the CPU probe
  [LOW_RESERVED, mem_size) free RAM for the kernel's frame allocator
  CONSOLE_BASE, AHCI_BASE  MMIO register windows above RAM, reached by the kernel through the Bus
  STORE_AHCI_BASE          the object store's AHCI controller (when a store disk is given):
                           its window is also mapped for the CPU itself (Unicorn MMIO), so a
                           ring-3 driver that has the page mapped uses it with loads and stores

Two controllers, two owners: the first (IRQ_AHCI) is the kernel's, with the boot disk (ext2,
swap) and a swap disk; the second (IRQ_STORE_AHCI) has one disk, the object store, and is
driven by the ring-3 object server (/sbin/objsrv, kernel/obj/server.py).

At construction the machine runs a short probe program to calibrate the CPU model (see
cpu.py); a Unicorn build that does not behave as expected is refused with a clear message.
"""

import sys

from unicorn import Uc, UC_ARCH_X86, UC_MODE_64, UC_PROT_ALL

from .ahci import AHCI, ABAR_SIZE
from .bus import Bus
from .clock import Clock
from .console import Console
from .cpu import CPU, PFError
from .memory import PhysicalMemory
from .powerfail import PowerSwitch

PAGE = 4096
LOW_RESERVED = 1 << 20
MAX_MEM = 3 << 30                      # RAM must end below the MMIO windows
CONSOLE_BASE = 0xFEC0_0000
AHCI_BASE = 0xFEB0_0000
STORE_AHCI_BASE = 0xFEB1_0000          # page aligned: its pages can be mapped into a process

# Interrupt lines (the machine's "IRQ numbers").
IRQ_CONSOLE = 4
IRQ_AHCI = 11
IRQ_STORE_AHCI = 10

# The trampoline: a supervisor page holding `sysretq`, mapped by the kernel in every
# address space at TRAMPOLINE_VA; starting a slice there is how the CPU first enters ring 3.
TRAMPOLINE_FRAME = 0x1000
TRAMPOLINE_VA = 0xFFFF_8000_0000_0000
SYSRETQ = b'\x48\x0f\x07'

# x86 page-table entry bits the probe needs (the kernel declares its own, fuller set).
_P, _W, _U = 1, 2, 4


class Machine:
    def __init__(self, mem_size: int = 128 << 20, console_sink=None, console_source=None,
                 disks=None, prefault: bool = False, store_disk=None,
                 power_fail: int | None = None):
        if not LOW_RESERVED * 2 <= mem_size <= MAX_MEM:
            raise ValueError(f'memory size must be between 2 MiB and 3 GiB, not {mem_size}')
        self.mem_size = mem_size
        self.memory = PhysicalMemory(mem_size, prefault)
        self.clock = Clock()
        self.bus = Bus()
        self.uc = Uc(UC_ARCH_X86, UC_MODE_64)
        self.uc.mem_map_ptr(0, mem_size, UC_PROT_ALL, self.memory.host_address)
        self.memory.write(TRAMPOLINE_FRAME, SYSRETQ)
        self.cpu = CPU(self.uc, TRAMPOLINE_VA, self.clock)
        self.console = Console(self.bus, CONSOLE_BASE, IRQ_CONSOLE, console_sink or _stdout_sink,
                               console_source)
        # Every disk controller counts its transfers on the one switch (emu/powerfail.py).
        self.power = PowerSwitch(power_fail)
        # An AHCI HBA when disks (emu.disk_image.DiskImage, one per port) are given.
        self.ahci = (AHCI(self.memory, self.clock, self.bus, AHCI_BASE, IRQ_AHCI, list(disks),
                          power=self.power)
                     if disks is not None else None)
        # The object store's controller: one port, its registers visible to the CPU too.
        self.store_ahci = None
        if store_disk is not None:
            self.store_ahci = AHCI(self.memory, self.clock, self.bus, STORE_AHCI_BASE,
                                   IRQ_STORE_AHCI, [store_disk], ports=1, power=self.power)
            self._map_for_cpu(STORE_AHCI_BASE, ABAR_SIZE, self.store_ahci)
        _CalibrationProbe(self).run()

    @property
    def first_free_frame(self) -> int:
        return LOW_RESERVED

    def _map_for_cpu(self, base: int, size: int, device) -> None:
        """Loads and stores by the CPU at [base, base+size) become register accesses."""
        size = -(-size // PAGE) * PAGE
        self.uc.mmio_map(base, size,
                         lambda uc, offset, n, data: device.mmio_read(offset, n), None,
                         lambda uc, offset, n, value, data: device.mmio_write(offset, n, value), None)

    def flush_disks(self) -> None:
        """Every controller's disks to stable storage (at shutdown)."""
        for hba in (self.ahci, self.store_ahci):
            if hba is not None:
                hba.flush()


def _stdout_sink(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


class _CalibrationProbe:
    """A tiny ring-3 program with known faults, in its own throw-away page tables.

    VA 0x10000 code, 0x11000 data (not present at first), 0x12000 read-only, 0x13000 stack.
    Expected: a read of the missing page (error U), then a write to the read-only page
    (error P|W|U), then `syscall`; a sled of NOPs serves to find the instruction counter.
    """
    CODE = bytes.fromhex(
        '488b042500100100'            # mov rax, [0x11000]       -> #PF, not present
        '48c7042500200100' '01000000'  # mov qword [0x12000], 1   -> #PF, read-only
        '0f05')                       # syscall                  -> stop
    SLED_OFFSET = 0x100
    PML4, PDPT, PD, PT = 0x2000, 0x3000, 0x4000, 0x5000
    K_PDPT, K_PD, K_PT = 0x6000, 0x7000, 0x8000
    CODE_F, DATA_F, RO_F, STACK_F = 0x9000, 0xA000, 0xB000, 0xC000
    entry = 0x10000
    stack = 0x14000
    nop_sled = 0x10000 + SLED_OFFSET
    expected_errors = (PFError.USER, PFError.PRESENT | PFError.WRITE | PFError.USER)

    def __init__(self, machine: Machine):
        self.m = machine

    def _set(self, table: int, index: int, value: int) -> None:
        self.m.memory.write_u64(table + index * 8, value)

    def _user_page(self, va: int, frame: int, flags: int) -> None:
        self._set(self.PT, (va >> 12) & 511, frame | flags)

    def run(self) -> None:
        mem = self.m.memory
        mem.fill(self.PML4, 0xB000)  # every probe table and frame, 0x2000-0xCFFF
        self._set(self.PML4, 0, self.PDPT | _P | _W | _U)
        self._set(self.PDPT, 0, self.PD | _P | _W | _U)
        self._set(self.PD, 0, self.PT | _P | _W | _U)
        self._user_page(0x10000, self.CODE_F, _P | _U)
        self._user_page(0x12000, self.RO_F, _P | _U)
        self._user_page(0x13000, self.STACK_F, _P | _W | _U)
        self._set(self.PML4, 256, self.K_PDPT | _P | _W)
        self._set(self.K_PDPT, 0, self.K_PD | _P | _W)
        self._set(self.K_PD, 0, self.K_PT | _P | _W)
        self._set(self.K_PT, 0, TRAMPOLINE_FRAME | _P)
        mem.write(self.CODE_F, self.CODE)
        mem.write(self.CODE_F + self.SLED_OFFSET, b'\x90' * 64 + b'\xeb\xfe')
        cpu = self.m.cpu
        cpu.enter_long_mode(self.PML4)
        cpu.calibrate(self)
        mem.fill(self.PML4, 0xB000)

    def fix_fault(self, n: int) -> bool:
        if n == 1:
            self._user_page(0x11000, self.DATA_F, _P | _W | _U)
        elif n == 2:
            self._user_page(0x12000, self.RO_F, _P | _W | _U)
            self.m.cpu.flush_tlb()
        return n <= 2
