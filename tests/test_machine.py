"""The machine and the memory manager's building blocks, below any guest program."""

import pytest

from emu.machine import Machine
from emu.cpu import PFError
from kernel.mm.frames import FrameAllocator, OutOfMemory
from kernel.mm.pagetable import PageTable, PTE, describe


def test_boot_calibrates_the_cpu_workarounds():
    m = Machine(8 << 20)
    assert m.cpu._old_exception_off is not None
    # Unicorn's instruction counter is only needed when slices fall back to count=
    assert m.cpu._native is not None or m.cpu._counter is not None


def test_counted_slice_retires_exactly_the_count():
    """The probe program's NOP sled: an exact slice (Unicorn's count=, as single-stepping
    uses) of N instructions retires N.  (Block-counted slices: tests/test_slices.py.)"""
    m = Machine(8 << 20)
    # the probe's code page is gone after calibration; lay a fresh NOP sled and tables
    mem = m.memory
    frames = FrameAllocator(mem, m.first_free_frame, m.mem_size)
    pt = PageTable(mem, frames)
    code = frames.alloc()
    mem.write(code, b'\x90' * 100 + b'\xeb\xfe')
    pt.map(0x400000, code, PTE.U)
    m.cpu.cr3 = pt.root
    m.cpu.on_trap = lambda t: False
    m.cpu.on_syscall = lambda: True
    trap, retired = m.cpu.run(0x400000, count=37, exact=True)
    assert trap is None and retired == 37
    assert m.cpu.reg('rip') == 0x400000 + 37


def test_frames_have_reference_counts_and_pins():
    m = Machine(8 << 20)
    frames = FrameAllocator(m.memory, m.first_free_frame, m.mem_size)
    free = frames.free_count
    f = frames.alloc()
    frames.share(f)
    assert frames.refs(f) == 2
    assert not frames.release(f)
    frames.pin(f)
    assert not frames.release(f)          # last reference gone, but pinned: not freed yet
    assert frames.free_count == free - 1
    frames.unpin(f)
    assert frames.free_count == free


def test_allocation_past_the_end_raises_out_of_memory():
    m = Machine(4 << 20)
    frames = FrameAllocator(m.memory, m.first_free_frame, m.mem_size)
    with pytest.raises(OutOfMemory):
        for _ in range(2000):
            frames.alloc(zero=False)


def test_cpu_sets_accessed_and_dirty_bits_the_kernel_reads_back():
    m = Machine(8 << 20)
    mem = m.memory
    frames = FrameAllocator(mem, m.first_free_frame, m.mem_size)
    pt = PageTable(mem, frames)
    code, data, other = frames.alloc(), frames.alloc(), frames.alloc()
    mem.write(code, bytes.fromhex('48c7042500005000' '01000000'      # mov qword [0x500000], 1
                                  '488b042500106000'                 # mov rax, [0x601000]
                                  '0f05'))                           # syscall
    pt.map(0x400000, code, PTE.U)
    pt.map(0x500000, data, PTE.U | PTE.W | PTE.NX)
    pt.map(0x601000, other, PTE.U | PTE.W | PTE.NX)
    m.cpu.cr3 = pt.root
    m.cpu.on_trap = lambda t: False
    m.cpu.on_syscall = lambda: False
    trap, _ = m.cpu.run(0x400000)
    assert trap is None
    assert pt.lookup(0x500000) & (PTE.A | PTE.D) == PTE.A | PTE.D
    assert pt.lookup(0x601000) & (PTE.A | PTE.D) == PTE.A
    assert describe(pt.lookup(0x601000)) == 'P|W|U|A|NX'


def test_page_fault_reports_cause_bits():
    m = Machine(8 << 20)
    mem = m.memory
    frames = FrameAllocator(mem, m.first_free_frame, m.mem_size)
    pt = PageTable(mem, frames)
    code, ro = frames.alloc(), frames.alloc()
    mem.write(code, bytes.fromhex('48c7042500005000' '01000000'))   # write to read-only page
    pt.map(0x400000, code, PTE.U)
    pt.map(0x500000, ro, PTE.U | PTE.NX)
    m.cpu.cr3 = pt.root
    m.cpu.on_trap = lambda t: False
    trap, _ = m.cpu.run(0x400000)
    assert trap.vector == 14 and trap.cr2 == 0x500000 and trap.rip == 0x400000
    assert trap.error == PFError.PRESENT | PFError.WRITE | PFError.USER
