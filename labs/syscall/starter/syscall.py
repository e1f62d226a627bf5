"""Lab syscall: your system calls.  `ukern lab start syscall` copied this file to
labs/syscall/student/syscall.py; while the lab is active the kernel's table
(kernel/sys/table.py) calls these handlers for

    SYS_ukern_trace   = UKERN_SYSCALL_BASE + 0    trace(unsigned long mask)
    SYS_ukern_sysinfo = UKERN_SYSCALL_BASE + 1    sysinfo(struct ukern_sysinfo *info)

(userland/include/ukern.h).  A handler takes (kernel, process, *arguments) and returns the
result, or a negative errno.  Read labs/syscall/README.md first.
"""

from kernel.errno import Errno


def sys_trace(k, p, mask) -> int:
    # TODO: remember the mask in the process (p.trace_mask = ...), and make sure that from
    # now on every finished system call n of a process whose mask has bit n set (n < 64)
    # prints "PID: syscall NAME -> RESULT\n" on the console (k.console.write(bytes)).
    # Hint: the kernel announces each finished call on its event stream:
    #     k.trace.subscribe(listener)     # listener(event), event.kind == 'syscall',
    #                                     # event.pid, event.args['nr'/'name'/'result']
    # Subscribe once per kernel, not once per call.  A fork's child gets its parent's mask.
    return -Errno.ENOSYS


def sys_sysinfo(k, p, addr) -> int:
    # TODO: fill the struct ukern_sysinfo at user address `addr`: three little-endian
    # 64-bit words -- free frames (k.frames), total frames, processes (k.procs).
    # Copy it out with k.user(p).write(addr, data): a bad address raises BadAddress,
    # which the kernel turns into -EFAULT for you.
    return -Errno.ENOSYS
