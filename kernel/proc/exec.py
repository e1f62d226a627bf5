"""Making a program image: a fresh address space with the ELF's segments and the initial
stack (argv, envp, auxv), and the registers to start it with.  Used for the first process
and by execve, which swaps the image in only once the new one is complete."""

from emu.fpu import fx_init

from ..mm.vm import AddressSpace, Region, Kind, Prot, STACK_TOP, STACK_INITIAL
from . import elf

RFLAGS_START = 0x202        # IF and the always-one bit
MAX_ARG_BYTES = 128 * 1024  # all of argv and envp (E2BIG beyond)


def build_image(kernel, data, argv: list[bytes], envp: list[bytes], name: str):
    """data: the program file's bytes, or a proc.program.Program (paged from the buffer
    cache).  Returns (address space, entry point, initial rsp).  Raises elf.ExecError."""
    aspace = AddressSpace(kernel.frames, kernel.kernel_pdpt)
    try:
        image = elf.load(aspace, data, name)
        aspace.brk_start = aspace.brk = image.brk
        aspace.add(Region(STACK_TOP - STACK_INITIAL, STACK_TOP, Prot.READ | Prot.WRITE, Kind.STACK, '[stack]'))
        execfn = argv[0] if argv else b''
        blob, rsp = elf.build_stack(argv, envp, image, execfn, kernel.random.randbytes(16), STACK_TOP)
        kernel.write_into(aspace, rsp, blob)
    except BaseException:
        aspace.destroy()
        raise
    return aspace, image.entry, rsp


def start_registers(cpu, ctx, entry: int, rsp: int) -> None:
    """Registers as the System V ABI promises at _start: all zero but rsp, rip, rflags;
    the x87 and SSE units as Linux leaves them (control word 0x37F: 64-bit precision,
    exceptions masked; MXCSR 0x1F80; every x87 register empty)."""
    cpu.set_context_fxstate(ctx, fx_init())
    for name in ('rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'r8', 'r9', 'r10', 'r11',
                 'r12', 'r13', 'r14', 'r15', 'fs_base', 'gs_base'):
        cpu.set_context_reg(ctx, name, 0)
    cpu.set_context_reg(ctx, 'rsp', rsp)
    cpu.set_context_reg(ctx, 'rip', entry)
    cpu.set_context_reg(ctx, 'rflags', RFLAGS_START)
