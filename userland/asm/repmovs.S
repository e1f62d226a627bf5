# rep movsb from a filled page across into two untouched .bss pages: the copy faults in the
# middle (demand-zero), the kernel maps the page and the CPU resumes the copy where it
# stopped.  Exit status 0 only if every byte arrived.
        .intel_syntax noprefix
        .globl _start
        .bss
        .balign 4096
dst:    .skip 3 * 4096
        .data
        .balign 4096
src:    .fill 8192, 1, 0x5a
        .text
_start:
        lea rsi, [rip + src]
        lea rdi, [rip + dst + 100]
        mov rcx, 8192
        rep movsb
        test rcx, rcx           # rcx must have counted down to zero
        jnz bad
        lea rsi, [rip + dst + 100]
        mov rcx, 8192
check:  cmp byte ptr [rsi], 0x5a
        jne bad
        inc rsi
        dec rcx
        jnz check
        mov edi, 0
        jmp out
bad:    mov edi, 1
out:    mov eax, 60
        syscall
