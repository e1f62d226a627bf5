# Benchmark: 100,000 getppid round trips.
        .intel_syntax noprefix
        .globl _start
_start:
        mov ebx, 100000
again:  mov eax, 110
        syscall
        dec ebx
        jnz again
        xor edi, edi
        mov eax, 60
        syscall
