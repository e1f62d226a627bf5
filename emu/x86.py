"""x86-64 as the architecture defines it, for the CPU model (cpu.py) and the kernel: control
register and EFER bits, the MSRs `syscall` uses, the GDT layout `sysret` expects, exception
vectors and the page-fault error code (Intel SDM vol. 3).  Page-table entry bits are the
kernel's (kernel/mm/pagetable.py); everything else here is declared once.
"""

import enum


class CR0(enum.IntFlag):
    PE = 1 << 0
    MP = 1 << 1
    NE = 1 << 5
    WP = 1 << 16
    PG = 1 << 31


class CR4(enum.IntFlag):
    PAE = 1 << 5
    PGE = 1 << 7
    OSFXSR = 1 << 9
    OSXMMEXCPT = 1 << 10


class EFER(enum.IntFlag):
    SCE = 1 << 0
    LME = 1 << 8
    LMA = 1 << 10
    NXE = 1 << 11


MSR_EFER = 0xC0000080
MSR_STAR = 0xC0000081
MSR_LSTAR = 0xC0000082
MSR_FMASK = 0xC0000084


class Selector(enum.IntEnum):
    """GDT layout that `sysret` expects: user data right below user code (Intel SDM, SYSRET)."""
    KERNEL_CODE = 0x08
    KERNEL_DATA = 0x10
    USER_DATA = 0x18 | 3
    USER_CODE = 0x20 | 3
    SYSRET_BASE = 0x10  # STAR[63:48]: SS = base + 8, CS = base + 16


class Vector(enum.IntEnum):
    """x86 exception vectors the kernel distinguishes (Intel SDM vol. 3, table 6-1)."""
    DIVIDE_ERROR = 0
    DEBUG = 1
    BREAKPOINT = 3
    OVERFLOW = 4
    BOUND = 5
    INVALID_OPCODE = 6
    DEVICE_NA = 7
    DOUBLE_FAULT = 8
    GENERAL_PROTECTION = 13
    PAGE_FAULT = 14
    X87_FP = 16
    ALIGNMENT = 17
    SIMD_FP = 19
    MACHINE_CHECK = 18


class PFError(enum.IntFlag):
    """Page-fault error code bits (Intel SDM vol. 3, 4.7)."""
    PRESENT = 1 << 0      # 0: page not present; 1: protection violation
    WRITE = 1 << 1
    USER = 1 << 2
    RSVD = 1 << 3
    FETCH = 1 << 4


# Plain-int copies for hot paths (IntFlag arithmetic builds enum objects, which is slow).
PF_PRESENT, PF_WRITE, PF_USER, PF_FETCH = (int(f) for f in (PFError.PRESENT, PFError.WRITE,
                                                             PFError.USER, PFError.FETCH))
