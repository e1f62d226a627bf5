"""Reading signed system call arguments: registers hold 64 bits, C's int and pid_t are
32-bit and arrive sign-extended (or not), off_t is 64-bit signed."""


def s32(x: int) -> int:
    x &= 0xFFFF_FFFF
    return x - (1 << 32) if x & 0x8000_0000 else x


def u32(x: int) -> int:
    """C's unsigned int (descriptors in dup, dup2, dup3): the low 32 bits, as Linux reads them."""
    return x & 0xFFFF_FFFF


def s64(x: int) -> int:
    x &= 0xFFFF_FFFF_FFFF_FFFF
    return x - (1 << 64) if x & (1 << 63) else x
