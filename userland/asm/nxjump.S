# Jumps into the (no-execute) data segment: an instruction-fetch #PF, SIGSEGV.
        .intel_syntax noprefix
        .globl _start
        .data
        .balign 4096
landing: .byte 0xc3
        .text
_start:
        lea rax, [rip + landing]
        jmp rax
