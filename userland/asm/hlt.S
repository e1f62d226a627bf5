# A privileged instruction at CPL 3: #GP, SIGSEGV.
        .intel_syntax noprefix
        .globl _start
_start:
        hlt
