"""Bounding time slices: the native block counter (emu/slicecount.py) counts exactly the
instructions a slice retires, stops it at a block boundary once it has run its budget, and
keeps runs deterministic; its instruction hook single-steps; Unicorn's count= remains as the
fallback."""

import json

import pytest

import emu.cpu
import emu.slicecount
from emu.machine import Machine
from kernel.mm.frames import FrameAllocator
from kernel.mm.pagetable import PageTable, PTE
from kernel.trace.chrome import ChromeTrace

from conftest import boot

CODE = 0x400000
DATA = 0x600000
NOP, SYSCALL, JMP_SELF = b'\x90', b'\x0f\x05', b'\xeb\xfe'
LOAD_DATA = bytes.fromhex('488b042500006000')       # mov rax, [0x600000]
UD2 = b'\x0f\x0b'


def machine_with(code: bytes, data_mapped: bool = True):
    """A bare machine (no kernel) running `code` at CODE in ring 3; DATA is a page that is
    mapped, or is mapped by the trap callback on first touch."""
    m = Machine(8 << 20)
    frames = FrameAllocator(m.memory, m.first_free_frame, m.mem_size)
    pt = PageTable(m.memory, frames)
    page = frames.alloc()
    m.memory.write(page, code)
    pt.map(CODE, page, PTE.U)
    data = frames.alloc()
    if data_mapped:
        pt.map(DATA, data, PTE.U | PTE.W | PTE.NX)
    m.cpu.cr3 = pt.root

    def map_data(trap):
        pt.map(DATA, data, PTE.U | PTE.W | PTE.NX)
        m.cpu.flush_tlb()
        return True
    m.cpu.on_trap = map_data
    m.cpu.on_syscall = lambda: False
    return m


def test_native_counter_is_in_use():
    assert Machine(8 << 20).cpu._native is not None


def test_a_counted_slice_stops_at_the_first_block_boundary_after_its_budget():
    # 100 NOPs and a jump to itself: one block of 101 instructions, then blocks of one
    m = machine_with(NOP * 100 + JMP_SELF)
    trap, retired = m.cpu.run(CODE, count=37)
    assert trap is None and retired == 101
    assert m.cpu.reg('rip') == CODE + 100
    trap, retired = m.cpu.run(m.cpu.reg('rip'), count=1000)
    assert trap is None and retired == 1000


def test_an_exact_slice_retires_exactly_its_count():
    m = machine_with(NOP * 100 + JMP_SELF)
    trap, retired = m.cpu.run(CODE, count=37, exact=True)
    assert trap is None and retired == 37
    assert m.cpu.reg('rip') == CODE + 37
    # and counting by blocks again afterwards
    trap, retired = m.cpu.run(m.cpu.reg('rip'), count=10)
    assert retired == 63 + 1 and m.cpu.reg('rip') == CODE + 100


def test_single_steps_between_counted_slices():
    # a counted slice, steps, a counted slice again: no spurious fault on the way
    # (deleting Unicorn's count= hook used to leave one pending: emu_start's page walk of
    # every page the hook was in)
    m = machine_with(NOP * 100 + JMP_SELF)
    traps = []
    m.cpu.on_trap = lambda t: traps.append(t) or False
    assert m.cpu.run(CODE, count=500) == (None, 500)
    for i in range(3):
        assert m.cpu.run(CODE + i, count=1, exact=True) == (None, 1)
        assert m.cpu.reg('rip') == CODE + i + 1
    assert m.cpu.run(CODE, count=37, exact=True) == (None, 37)
    assert m.cpu.run(CODE, count=500) == (None, 500)
    assert traps == []


def test_retired_inside_a_system_call_counts_up_to_the_syscall():
    m = machine_with(NOP * 5 + SYSCALL + NOP * 3 + SYSCALL + JMP_SELF)
    seen = []
    m.cpu.on_syscall = lambda: seen.append(m.cpu.retired()) or len(seen) < 2
    trap, retired = m.cpu.run(CODE, count=1_000_000)
    assert seen == [6, 10] and retired == 10


def test_a_fault_in_the_middle_of_a_block_charges_only_what_ran():
    # the load faults (DATA not mapped yet), the kernel maps it, the load runs again:
    # it retires once, and the NOPs after it once
    m = machine_with(NOP * 10 + LOAD_DATA + NOP * 10 + SYSCALL, data_mapped=False)
    faults = []
    inner = m.cpu.on_trap
    m.cpu.on_trap = lambda trap: faults.append(m.cpu.retired()) or inner(trap)
    trap, retired = m.cpu.run(CODE, count=1_000_000)
    assert trap is None and faults == [10]
    assert retired == 10 + 1 + 10 + 1
    assert m.cpu._native.state.cuts == 1 and m.cpu._native.state.undecoded == 0


def test_an_invalid_instruction_ends_the_slice_with_what_ran_before_it():
    m = machine_with(NOP * 7 + UD2 + NOP)
    trap, retired = m.cpu.run(CODE, count=1_000_000)
    assert trap is not None and trap.rip == CODE + 7
    assert retired == 7


def test_blocks_translated_in_an_uncounted_slice_still_count_later():
    # Unicorn keeps translated code when a hook is added: counted slices must not reuse
    # blocks translated without the counter's call (or a loop would never be stopped)
    loop = bytes.fromhex('b900100000')                  # mov ecx, 4096
    loop += bytes.fromhex('ffc9') + bytes.fromhex('75fc')   # 1: dec ecx; jnz 1b
    m = machine_with(loop + SYSCALL)
    trap, retired = m.cpu.run(CODE)                     # uncounted, to the syscall
    assert trap is None and retired == 0
    trap, retired = m.cpu.run(CODE, count=100)
    assert 100 <= retired < 110
    assert m.cpu.reg('rip') != CODE + len(loop)         # stopped inside the loop


def test_without_the_native_counter_slices_are_counted_by_unicorn(monkeypatch, capsys):
    def refuse():
        raise emu.slicecount.NativeBuildError('no compiler here')
    monkeypatch.setattr(emu.slicecount, '_load', refuse)
    monkeypatch.setattr(emu.cpu, '_warned_no_native', False)
    m = machine_with(NOP * 100 + JMP_SELF)
    assert m.cpu._native is None
    trap, retired = m.cpu.run(CODE, count=37)
    assert trap is None and retired == 37
    Machine(8 << 20)
    err = capsys.readouterr().err
    assert err.count('no compiler here') == 1 and "count=" in err


def test_rdtsc_reads_the_virtual_clock():
    # rdtsc; mov rbx, rax; rdtsc; syscall -- the counter is the clock when the slice began
    # plus the instructions run (the block's four), and moves on by a read's cost
    code = b'\x0f\x31' + bytes.fromhex('4889c3') + b'\x0f\x31' + SYSCALL
    values = []
    for _ in range(2):
        m = machine_with(code)
        m.clock.now = 5000
        m.cpu.run(CODE, count=1000)
        values.append((m.cpu.reg('rbx'), m.cpu.reg('rax'), m.cpu.reg('rdx')))
    assert values[0] == values[1]
    first, second, high = values[0]
    assert first == 5000 + 4 and second == first + 20 and high == 0


# -- whole runs ------------------------------------------------------------------------------
# userland/asm/bench_crc.S: 2 instructions, 64 rounds of (2 + 65536 bytes x (3 + 8 bits x 8
# + 3) + 2), then 4 to exit: 293,601,542 instructions, 16 of them loads that fault first.
CRC_INSTRUCTIONS = 2 + 64 * (2 + 65536 * (3 + 8 * 8 + 3) + 2) + 4


def test_the_virtual_clock_counts_exactly_the_instructions_a_program_retires(userland):
    kernel, out, log = boot()
    kernel.exact_clock = True               # count even though nothing else runs
    kernel.fault_around = False             # every page a fault, cut into counted blocks
    prog = userland / 'asm' / 'bench_crc'
    p = kernel.spawn(prog.read_bytes(), [b'bench_crc'], [])
    kernel.run()
    assert p.state.value == 'zombie'
    assert kernel.clock.instructions == CRC_INSTRUCTIONS
    assert p.usage.minflt + p.usage.majflt >= 16


# -- whole runs: the same program twice gives the same trace -----------------------------
def chrome_run(userland, tmp_path, name: str, *args: str) -> tuple[bytes, bytes, object]:
    path = tmp_path / f'{name.replace("/", "_")}-{len(list(tmp_path.iterdir()))}.json'
    kernel, out, log = boot()
    chrome = ChromeTrace(kernel, path)
    kernel.trace.subscribe(chrome)
    prog = userland / name
    kernel.spawn(prog.read_bytes(), [str(prog).encode()] + [a.encode() for a in args], [])
    kernel.run()
    chrome.close()
    return path.read_bytes(), bytes(out), kernel


@pytest.mark.parametrize('program', [('tests/crc_fork', '2', '2'), ('tests/thread_handoff', '50')])
def test_two_runs_give_byte_identical_traces(userland, tmp_path, program):
    first, out1, k1 = chrome_run(userland, tmp_path, *program)
    second, out2, k2 = chrome_run(userland, tmp_path, *program)
    assert first == second and out1 == out2
    assert k1.clock.now == k2.clock.now and k1.clock.instructions == k2.clock.instructions
    events = json.loads(first)['traceEvents']
    switches = [e for e in events if e.get('cat') == 'switch']
    if program[0] == 'tests/crc_fork':
        # the children were preempted by counted slices, back and forth many times
        assert len(switches) > 20
        assert k1.clock.instructions > 2 * 65536 * 8 * 6


def test_a_go_program_gives_the_same_trace_twice(tmp_path):
    # the Go runtime reads the time-stamp counter (RDTSC) to seed its random numbers: it
    # must read the virtual clock, not the host's
    from realprogs import go_program
    program = go_program('hello')
    first, out1, _ = chrome_run(program.parent, tmp_path, program.name)
    second, out2, _ = chrome_run(program.parent, tmp_path, program.name)
    assert b'hello from Go' in out1
    assert first == second and out1 == out2
