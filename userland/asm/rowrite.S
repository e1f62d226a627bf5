# Writes into its own code: a write to a read-only page, SIGSEGV.
        .intel_syntax noprefix
        .globl _start
_start:
        lea rax, [rip + _start]
        mov byte ptr [rax], 0x90
        mov eax, 60
        syscall
