# Benchmark: touch 10,000 fresh pages of .bss, one write each: 10,000 demand-zero faults.
        .intel_syntax noprefix
        .globl _start
        .bss
        .balign 4096
area:   .skip 10000 * 4096
        .text
_start:
        lea rdi, [rip + area]
        mov ecx, 10000
touch:  mov byte ptr [rdi], 1
        add rdi, 4096
        dec ecx
        jnz touch
        xor edi, edi
        mov eax, 60
        syscall
