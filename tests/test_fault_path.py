"""The fault delivery path (emu/cpu.py, emu/livestate.py): the #1883 work-around and the
fault's RIP, CR2 and error code read in Unicorn's live CPU state, or through a saved
context when that state cannot be found."""

import io

from emu.machine import Machine
from unicorn import x86_const as X


def test_the_live_cpu_state_is_found_and_follows_the_registers():
    cpu = Machine(16 << 20, console_sink=lambda b: None).cpu
    assert cpu._live is not None
    for value in (0x1234_5678, 0x7FFF_0000_1000):
        cpu.uc.reg_write(X.UC_X86_REG_RIP, value)
        cpu.uc.reg_write(X.UC_X86_REG_CR2, value + 8)
        assert cpu._live_rip.value == value and cpu._live_cr2.value == value + 8
    cpu.uc.context_update(cpu._ctx)                      # the saved blob says the same
    assert bytes(cpu._ctx_words)[cpu._old_exception_off * 4:][:4] == \
        bytes(cpu._live.words)[cpu._old_exception_off * 4:][:4]


def _faults_in_order(userland, live: bool) -> tuple[bytes, list]:
    from kernel.kernel import Kernel
    machine = Machine(64 << 20, console_sink=(out := bytearray()).extend, console_source=io.BytesIO())
    if not live:
        machine.cpu._live = machine.cpu._live_rip = machine.cpu._live_cr2 = None
    kernel = Kernel(machine, log=lambda m: None)
    kernel.fault_around = False
    seen = []
    kernel.trace.subscribe(lambda e: seen.append((e.args['addr'], e.args['error'], e.args['rip']))
                           if e.kind == 'fault' else None)
    path = userland / 'tests/fault_loop'
    kernel.spawn(path.read_bytes(), [b'fault_loop', b'300', b'random'], [])
    kernel.run()
    return bytes(out), seen


def test_both_ways_of_reading_a_fault_see_the_same_faults(userland):
    live_out, live_faults = _faults_in_order(userland, live=True)
    ctx_out, ctx_faults = _faults_in_order(userland, live=False)
    assert live_out == ctx_out == b'fault_loop: 300 pages random, 300 faults, sum 300\n'
    assert live_faults == ctx_faults and len(live_faults) > 300
