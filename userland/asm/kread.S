# Reads the kernel's trampoline page (supervisor-only, mapped in every address space):
# the CPU raises #PF with the user bit set and the kernel kills the process.
        .intel_syntax noprefix
        .globl _start
_start:
        movabs rax, 0xffff800000000000
        mov rbx, [rax]
        mov edi, 0              # never reached
        mov eax, 60
        syscall
