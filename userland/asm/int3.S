# A breakpoint with no debugger attached: SIGTRAP.
        .intel_syntax noprefix
        .globl _start
_start:
        int3
        mov eax, 60
        syscall
