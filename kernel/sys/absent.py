"""Calls ukern does not offer, on purpose: they fail with ENOSYS, as on a Linux kernel built
without them, and without the "not implemented" warning an unknown call gets.

Sockets: ukern has no network stack (programs fall back or report it).  rseq: restartable
sequences need the kernel to rewrite a thread's rip on preemption; glibc tries rseq at every
start and quietly goes without when the kernel says ENOSYS.
"""

from ..errno import Errno

# Linux x86-64 numbers (arch/x86/entry/syscalls/syscall_64.tbl)
SOCKET_CALLS = (41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 288, 299, 307)
RSEQ = 334
NOT_OFFERED = (*SOCKET_CALLS, RSEQ)


def sys_not_offered(k, p) -> int:
    return -Errno.ENOSYS
