# Benchmark: bitwise CRC-32 over a 64 KiB buffer, 64 rounds, no system calls until exit.
# The same machine code runs under ukern and on bare Unicorn (bench/run.py).
        .intel_syntax noprefix
        .globl _start
        .bss
        .balign 4096
buf:    .skip 65536
        .text
_start:
        mov r9d, 64                     # rounds
        mov eax, 0xffffffff             # crc
round:  lea rsi, [rip + buf]
        mov ecx, 65536
nextbyte:   movzx edx, byte ptr [rsi]
        xor eax, edx
        mov r8d, 8
nextbit:    mov edx, eax
        shr eax, 1
        and edx, 1
        neg edx
        and edx, 0xedb88320
        xor eax, edx
        dec r8d
        jnz nextbit
        inc rsi
        dec ecx
        jnz nextbyte
        dec r9d
        jnz round
        mov edi, eax
        and edi, 0xff
        mov eax, 60
        syscall
