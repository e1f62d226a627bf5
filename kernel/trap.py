"""What happens when a process does something the CPU refuses: the report and the signal.

The report names the signal, the cause, the address and the faulting instruction
disassembled by capstone, e.g.
  ukern: pid 1 (crash) killed by SIGSEGV: write to unmapped 0x0000000000000010 at rip
  0x401136: mov dword ptr [rax + 0x10], 1
"""

import enum
import functools

from emu.cpu import Trap, Vector


class Signal(enum.IntEnum):
    SIGHUP = 1
    SIGINT = 2
    SIGQUIT = 3
    SIGILL = 4
    SIGTRAP = 5
    SIGABRT = 6
    SIGBUS = 7
    SIGFPE = 8
    SIGKILL = 9
    SIGUSR1 = 10
    SIGSEGV = 11
    SIGUSR2 = 12
    SIGPIPE = 13
    SIGALRM = 14
    SIGTERM = 15
    SIGCHLD = 17
    SIGCONT = 18
    SIGSTOP = 19
    SIGTSTP = 20
    SIGVTALRM = 26
    SIGPROF = 27


# Which signal each CPU exception becomes, and how the report names it.
TRAP_SIGNALS = {
    Vector.DIVIDE_ERROR: (Signal.SIGFPE, 'divide error'),
    Vector.DEBUG: (Signal.SIGTRAP, 'debug trap'),
    Vector.BREAKPOINT: (Signal.SIGTRAP, 'breakpoint'),
    Vector.OVERFLOW: (Signal.SIGSEGV, 'overflow trap'),
    Vector.BOUND: (Signal.SIGSEGV, 'bound range exceeded'),
    Vector.INVALID_OPCODE: (Signal.SIGILL, 'invalid opcode'),
    Vector.DEVICE_NA: (Signal.SIGFPE, 'FPU not available'),
    Vector.GENERAL_PROTECTION: (Signal.SIGSEGV, 'general protection fault'),
    Vector.X87_FP: (Signal.SIGFPE, 'x87 floating-point error'),
    Vector.ALIGNMENT: (Signal.SIGBUS, 'alignment check'),
    Vector.MACHINE_CHECK: (Signal.SIGBUS, 'machine check'),
    Vector.SIMD_FP: (Signal.SIGFPE, 'SIMD floating-point error'),
}


@functools.cache
def _disassembler():
    """Capstone, loaded the first time a report needs it: most runs never fault, and
    importing it is a good part of a short run's start-up."""
    import capstone
    return capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64), capstone.CsError


def disassemble(code: bytes, rip: int) -> str:
    cs, cs_error = _disassembler()
    try:
        for insn in cs.disasm(code, rip, 1):
            return f'{insn.mnemonic} {insn.op_str}'.strip()
    except cs_error:
        pass
    return '(unreadable instruction)' if not code else f'(bad instruction {code[:4].hex()})'


def instruction_address(trap: Trap) -> int:
    """Where the instruction that trapped starts: int3 reports the address after itself."""
    return trap.rip - 1 if trap.vector == Vector.BREAKPOINT else trap.rip


def classify(trap: Trap) -> tuple[Signal, str]:
    return TRAP_SIGNALS.get(trap.vector, (Signal.SIGSEGV, f'exception {trap.vector}'))


def report(pid: int, name: str, signal: Signal, cause: str, rip: int, code: bytes,
           thread: int | None = None) -> str:
    """The one-line fault report; `thread` names the faulting thread of a threaded process."""
    who = f'pid {pid} ({name})' + (f' thread {thread}' if thread is not None else '')
    return (f'ukern: {who} killed by {signal.name}: {cause} '
            f'at rip {rip:#x}: {disassemble(code, rip)}')
