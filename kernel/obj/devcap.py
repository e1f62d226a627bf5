"""Device capabilities: a ring-3 driver owns the object store's AHCI controller.

The machine's second controller (emu/machine.py: STORE_AHCI_BASE, IRQ_STORE_AHCI) belongs
to whichever process holds its three capabilities -- the object server, /sbin/objsrv, or a
test driver.  The kernel never programs it; it only lends the holder what a driver needs:

  DEVICE  DEVICE_MAP(va): the controller's register pages appear at va in the holder's
          address space, uncached (PCD|PWT), so the driver reads and writes registers with
          ordinary loads and stores (the machine turns them into register accesses).
  IRQ     IRQ_WAIT: sleep until the controller interrupts; the interrupt arrives as a
          message (w[1] the line, w[2] how many interrupts so far).  The kernel masks the
          line when it sends the message, and IRQ_ACK unmasks it, as seL4's IRQ handler
          capabilities do: the driver clears PxIS and IS first, so an acknowledged line
          that is still raised means new work, and sends one more message.
  PHYS    PHYS_ADDR(va): the physical address of one of the holder's own pinned pages
          (where it builds its command list, received-FIS area and command tables).

An IOMMU in miniature: the controller asks `allows` about every PRDT region before it moves
a byte.  Allowed are only frames I/O-pinned for this controller: the holder's own pinned
pages (PHYS told it their addresses) and the frames the kernel lends it for one transfer
(kernel/obj/server.py).  A DMA anywhere else fails with a host bus fault (PxIS.HBFS), nothing
moves, and the kernel names the process in its log.  The audit is on unless `dma_audit` is
turned off (a machine that trusts its object server, as the seed's EROS does).
"""

from collections import Counter

from ..errno import Errno
from ..mm.frames import PAGE_SIZE
from ..mm.pagetable import ADDR_MASK, P, PTE
from ..mm.vm import Kind, Prot, Region
from ..proc.wait import WaitQueue
from .layout import CapType
from .objects import Cap

# Operations (ukern.h: enum ukern_device) and where a holder finds the capabilities.
DEVICE_MAP, IRQ_WAIT, IRQ_ACK, PHYS_ADDR = 80, 81, 82, 83
DEVICE_SLOT, IRQ_SLOT, PHYS_SLOT = 2, 4, 5
DEVICE_CAPS = (CapType.DEVICE, CapType.IRQ, CapType.PHYS)
REGISTER_FLAGS = int(PTE.P | PTE.W | PTE.U | PTE.PCD | PTE.PWT | PTE.NX)


class StoreController:
    """The kernel's record of the object store's controller and who drives it.

    It takes what it uses: the frame allocator; `populate(p, start, end)`, which faults
    in a range of p's pages now; the kernel's `flush_tlb(p)`, `wake` and `log`; and the
    tracer (the driver's commands are shown on the store disk's track)."""

    def __init__(self, hba, base: int, line: int, *, frames, populate, flush_tlb, wake, log, tracer):
        self.frames = frames
        self.populate = populate
        self.flush_tlb = flush_tlb
        self.wake = wake
        self.log = log
        self.tracer = tracer
        self.hba = hba
        self.base = base
        self.line = line
        self.owner = None                 # the process holding the capabilities
        self.lent: Counter = Counter()    # frames lent for a transfer -> how many loans
        self.dma_audit = True
        self.masked = False               # a message was sent and not yet acknowledged
        self.raised = 0                   # interrupts delivered as messages
        self.messages = 0                 # sent, not yet taken by IRQ_WAIT
        self.waiters = WaitQueue('device interrupt', interruptible=True)
        self.refused: list[str] = []      # the audit's log lines
        self.on_exit = None               # called when the holder is gone (server.py)
        hba.dma_guard = self.allows
        hba.observer = self._observe

    # -- who holds it ----------------------------------------------------------------
    def grant(self, p) -> None:
        """Give p the controller: its three capabilities, and its pages present and
        pinned (a driver runs from fixed resources, and DMAs only into pinned pages)."""
        for r in list(p.aspace.regions):
            self.populate(p, r.start, r.end)
        for _, pte in p.aspace.pt.present_pages(0, 1 << 47):
            if (pte & ADDR_MASK) < self.frames.end:
                self.frames.pin(pte & ADDR_MASK)
        p.caps[DEVICE_SLOT] = Cap(CapType.DEVICE)
        p.caps[IRQ_SLOT] = Cap(CapType.IRQ)
        p.caps[PHYS_SLOT] = Cap(CapType.PHYS)
        self.owner = p

    def holds(self, p) -> bool:
        return p is not None and self.owner is not None and p.tgid == self.owner.tgid

    def owner_pins(self) -> list[int]:
        """The owner's pinned pages (kernel/check.py counts their pins)."""
        p = self.owner
        if p is None or p.state.value == 'zombie':
            return []
        return self._present(p)

    def _present(self, p) -> list[int]:
        return [pte & ADDR_MASK for _, pte in p.aspace.pt.present_pages(0, 1 << 47)
                if (pte & ADDR_MASK) < self.frames.end]

    def exited(self, p) -> None:
        """The holder is gone: its pages are no longer pinned, and nobody drives the
        controller (the pins go before the pages do, so the frames are freed with them)."""
        if not self.holds(p) or p is not self.owner:
            return
        for frame in self._present(p):
            self.frames.unpin(frame)
        self.owner = None
        if self.on_exit is not None:
            self.on_exit()

    # -- the capabilities --------------------------------------------------------------
    def invoke(self, p, cap: Cap, op: int, words: list[int]):
        """A generator (IRQ_WAIT sleeps): the result; `words`, the message, carries the
        arguments in w[1..] and gets IRQ_WAIT's answer."""
        if not self.holds(p):
            return -Errno.EPERM
        if cap.type == CapType.DEVICE and op == DEVICE_MAP:
            return self.map_registers(p, words[1])
        if cap.type == CapType.IRQ and op == IRQ_WAIT:
            return (yield from self.wait(p, words))
        if cap.type == CapType.IRQ and op == IRQ_ACK:
            return self.ack()
        if cap.type == CapType.PHYS and op == PHYS_ADDR:
            return self.phys_addr(p, words[1])
        return -Errno.EINVAL

    def map_registers(self, p, va: int) -> int:
        from ..mm.pagetable import USER_TOP
        from emu.ahci_regs import ABAR_SIZE
        pages = -(-ABAR_SIZE // PAGE_SIZE)
        end = va + pages * PAGE_SIZE
        if va % PAGE_SIZE or not 0 < va < USER_TOP - pages * PAGE_SIZE or p.aspace.overlapping(va, end):
            return -Errno.EINVAL
        p.aspace.add(Region(va, end, Prot.READ | Prot.WRITE, Kind.DEVICE, '[store controller]'))
        for i in range(pages):
            p.aspace.pt.set(va + i * PAGE_SIZE, (self.base + i * PAGE_SIZE) | REGISTER_FLAGS)
        self.flush_tlb(p)
        return 0

    def phys_addr(self, p, va: int) -> int:
        from ..mm.pagetable import USER_TOP
        if not 0 <= va < USER_TOP:
            return -Errno.EINVAL
        pte = p.aspace.pt.lookup(va & ~(PAGE_SIZE - 1))
        frame = pte & ADDR_MASK
        if not pte & P or frame >= self.frames.end or not self.frames.pinned(frame):
            return -Errno.EINVAL            # only pinned pages: their frames cannot move
        return frame | (va & (PAGE_SIZE - 1))

    def wait(self, p, words: list[int]):
        while not self.messages:
            yield self.waiters
        self.messages -= 1
        words[1], words[2] = self.line, self.raised
        return 0

    def ack(self) -> int:
        self.masked = False
        return 0

    def interrupt(self) -> None:
        """The line is raised (kernel/kernel.py's loop): one message, then masked."""
        if self.masked or self.owner is None:
            return
        self.masked = True
        self.raised += 1
        self.messages += 1
        self.waiters.wake_all(self.wake)

    # -- the IOMMU in miniature --------------------------------------------------------
    def lend(self, frame: int) -> None:
        self.lent[frame] += 1

    def take_back(self, frame: int) -> None:
        self.lent[frame] -= 1
        if self.lent[frame] <= 0:
            del self.lent[frame]

    def allows(self, addr: int, nbytes: int) -> bool:
        if not self.dma_audit:
            return True
        frames = self.frames
        for frame in range(addr & ~(PAGE_SIZE - 1), addr + nbytes, PAGE_SIZE):
            if frame in self.lent:
                continue
            if self.owner is not None and frames.pinned(frame) and self._owner_maps(frame):
                continue
            self._refuse(addr, nbytes, frame)
            return False
        return True

    def _owner_maps(self, frame: int) -> bool:
        return any(aspace is self.owner.aspace for aspace, _ in self.frames.rmap.mappers(frame))

    def _refuse(self, addr: int, nbytes: int, frame: int) -> None:
        who = f'pid {self.owner.tgid} ({self.owner.name})' if self.owner is not None else 'nobody'
        line = (f'ukern: {who}: DMA to {addr:#x}+{nbytes:#x} refused: frame {frame:#x} is not '
                f'I/O-pinned for the object store\'s controller')
        self.refused.append(line)
        self.log(line)

    # -- tracing: the commands the driver issued, on the store disk's track ----------------
    def _observe(self, phase: str, port: int, slot: int, cmd) -> None:
        if not self.tracer.enabled:
            return
        args = dict(phase='issue' if phase == 'issue' else 'complete', failed=phase == 'error',
                    disk=STORE_TRACK, slot=slot, by=self.owner.name if self.owner else '')
        if cmd is not None:
            args.update(lba=cmd.fis.lba, sectors=cmd.sectors(), ata=int(cmd.fis.command),
                        frames=sorted({hex(a & ~(PAGE_SIZE - 1)) for a, _, _ in cmd.prdt}))
        self.tracer.note('dma', self.owner.pid if self.owner else 0, **args)


STORE_TRACK = 8      # kernel/trace/chrome.py: the object store disk's track ('disk 8' -> named)
