# Divide by zero: #DE, SIGFPE.
        .intel_syntax noprefix
        .globl _start
_start:
        xor ecx, ecx
        mov eax, 1
        xor edx, edx
        div ecx
        mov eax, 60
        syscall
