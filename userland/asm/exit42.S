# The smallest program: exit(42) with no libc.
        .intel_syntax noprefix
        .globl _start
_start:
        mov edi, 42
        mov eax, 60
        syscall
