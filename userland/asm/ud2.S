# An invalid opcode: SIGILL.
        .intel_syntax noprefix
        .globl _start
_start:
        ud2
