"""Process system calls: fork/clone, execve, exit, wait4, ids and groups, arch_prctl.

fork and clone return twice: the child's context is the parent's at the syscall, with
rax = 0.  execve reads the program from the file system, builds the new image, and swaps it
in as the process returns to user mode (the old image stays intact if anything fails).
"""

import struct

from ..errno import Errno
from ..fs.ext2 import FsError
from ..proc import elf, lifecycle
from ..proc.process import State
from . import files
from .args import s32

ARCH_SET_GS, ARCH_SET_FS, ARCH_GET_FS, ARCH_GET_GS = 0x1001, 0x1002, 0x1003, 0x1004
SYSCALL_INSN_LEN = 2          # `syscall` is 0f 05: the CPU reports the hook at its address
WNOHANG, WUNTRACED, WCONTINUED = 1, 2, 8
MAX_ARGS = 4096
MAX_ARG_BYTES = 256 * 1024


class Clone:
    """clone() flags ukern honours (include/uapi/linux/sched.h)."""
    VM = 0x100
    FS = 0x200
    FILES = 0x400
    SIGHAND = 0x800
    VFORK = 0x4000
    PARENT = 0x8000
    THREAD = 0x10000
    SETTLS = 0x80000
    PARENT_SETTID = 0x100000
    CHILD_CLEARTID = 0x200000
    CHILD_SETTID = 0x1000000
    EXIT_SIGNAL = 0xFF


def sys_exit(k, p, status: int):
    k.exit_process(p, (status & 0xFF) << 8)
    return k.NO_RETURN


def sys_getpid(k, p) -> int:
    return p.pid


def sys_getppid(k, p) -> int:
    return p.ppid


def sys_getuid(k, p) -> int:
    return 0


def sys_arch_prctl(k, p, code: int, addr: int) -> int:
    if code == ARCH_SET_FS:
        k.cpu.set_reg('fs_base', addr)
        return 0
    if code == ARCH_SET_GS:
        k.cpu.set_reg('gs_base', addr)
        return 0
    if code in (ARCH_GET_FS, ARCH_GET_GS):
        k.user(p).write_u64(addr, k.cpu.reg('fs_base' if code == ARCH_GET_FS else 'gs_base'))
        return 0
    return -Errno.EINVAL


def sys_set_tid_address(k, p, tidptr: int) -> int:
    p.clear_child_tid = tidptr
    return p.pid


def sys_sched_yield(k, p) -> int:
    k.yield_cpu(p)
    return 0


def sys_set_robust_list(k, p, head: int, length: int) -> int:
    return 0 if length == 24 else -Errno.EINVAL


# -- fork, clone ---------------------------------------------------------------------------
def _new_child(k, p, stack: int = 0, tls: int = None):
    child = lifecycle.fork(k, p)
    if isinstance(child, int):
        return child
    cpu = k.cpu
    cpu.set_context_reg(child.ctx, 'rip', cpu.reg('rip') + SYSCALL_INSN_LEN)
    if stack:
        cpu.set_context_reg(child.ctx, 'rsp', stack)
    if tls is not None:
        cpu.set_context_reg(child.ctx, 'fs_base', tls)
    if k.trace.enabled:
        k._emit('fork', p, child=child.pid)
    return child


def sys_fork(k, p) -> int:
    child = _new_child(k, p)
    return child if isinstance(child, int) else child.pid


def sys_clone(k, p, flags: int, stack: int, parent_tid: int, child_tid: int, tls: int):
    if flags & (Clone.THREAD | Clone.SIGHAND):
        return -Errno.EINVAL            # one thread per process: no threads here
    child = _new_child(k, p, stack, tls if flags & Clone.SETTLS else None)
    if isinstance(child, int):
        return child
    if flags & Clone.PARENT_SETTID:
        k.user(p).write(parent_tid, struct.pack('<i', child.pid))
    if flags & Clone.CHILD_SETTID:
        k.write_into(child.aspace, child_tid, struct.pack('<i', child.pid))
    if flags & Clone.CHILD_CLEARTID:
        child.clear_child_tid = child_tid
    if flags & Clone.PARENT:
        child.ppid = p.ppid
    return child.pid


# -- execve ----------------------------------------------------------------------------------
def _strings(k, p, addr: int) -> list[bytes]:
    mem = k.user(p)
    if not addr:
        return []
    ptrs = mem.read_ptr_array(addr, MAX_ARGS)
    out = [mem.read_cstr(a, MAX_ARG_BYTES) for a in ptrs]
    if sum(len(s) + 1 for s in out) > MAX_ARG_BYTES:
        raise FsError(Errno.E2BIG)
    return out


SHEBANG_MAX = 256              # Linux's BINPRM_BUF_SIZE: the `#!` line is read from this much
MAX_INTERPRETERS = 4          # a script's interpreter may be a script, this deep (BINPRM_MAX_RECURSION)


def parse_shebang(data: bytes) -> tuple[bytes, bytes | None]:
    """(interpreter, its one optional argument) from a `#!` line, as Linux splits it."""
    line = data[2:SHEBANG_MAX].split(b'\n', 1)[0].strip(b' \t')
    interp, _, arg = line.replace(b'\t', b' ').partition(b' ')
    if not interp:
        raise FsError(Errno.ENOEXEC)
    arg = arg.strip(b' ')
    return interp, arg or None


def read_program(k, p, path: bytes, argv: list[bytes]):
    """(ELF bytes, its canonical path, argv) for execve of `path`: a `#!` script runs its
    interpreter with argv = [interpreter, (argument,) path, argv[1:]...] (a generator)."""
    for _ in range(MAX_INTERPRETERS + 1):
        data, real = yield from files._vfs(k).read_file(path, p.cwd, executable=True)
        if not data.startswith(b'#!'):
            return data, real, argv
        interp, arg = parse_shebang(data)
        argv = [interp] + ([arg] if arg else []) + [path] + argv[1:]
        path = interp
    raise FsError(Errno.ELOOP)


@files.fs_errors
def sys_execve(k, p, path_addr: int, argv_addr: int, envp_addr: int):
    path = files._path(k, p, path_addr)
    argv, envp = _strings(k, p, argv_addr), _strings(k, p, envp_addr)
    data, real, argv_run = yield from read_program(k, p, path, argv)
    name = (argv[0] if argv else path).rsplit(b'/', 1)[-1].decode(errors='replace')
    try:
        lifecycle.exec_image(k, p, data, argv_run, envp, name)
    except elf.ExecError as e:
        k.log(f'ukern: pid {p.pid} ({p.name}): execve: {e}')
        return -Errno.ENOEXEC
    p.exe = real
    if k.trace.enabled:
        k._emit('exec', p, path=path.decode(errors='replace'), argv=[a.decode(errors='replace') for a in argv])
    return k.NO_RETURN


# -- wait4 -------------------------------------------------------------------------------------
def _matches(p, child, pid: int) -> bool:
    if pid > 0:
        return child.pid == pid
    if pid == 0:
        return child.pgid == p.pgid
    if pid == -1:
        return True
    return child.pgid == -pid


def sys_wait4(k, p, pid: int, wstatus: int, options: int, rusage: int):
    pid = s32(pid)
    while True:
        kids = [c for c in lifecycle.children(k, p) if _matches(p, c, pid)]
        if not kids:
            return -Errno.ECHILD
        for child in kids:
            if child.state is State.ZOMBIE:
                status = child.exit_status
                lifecycle.reap(k, child)
                return _report(k, p, child.pid, status, wstatus, rusage)
            if child.state is State.STOPPED and options & WUNTRACED and not child.stop_reported:
                child.stop_reported = True
                return _report(k, p, child.pid, 0x7F | (child.stop_signal << 8), wstatus, rusage)
        if options & WNOHANG:
            return 0
        yield p.children_events


def _report(k, p, pid: int, status: int, wstatus: int, rusage: int) -> int:
    if wstatus:
        k.user(p).write(wstatus, struct.pack('<i', status))
    if rusage:
        k.user(p).write(rusage, bytes(144))
    return pid


# -- process groups and sessions ----------------------------------------------------------------
def _proc(k, p, pid: int):
    pid = s32(pid)
    return p if pid == 0 else k.procs.get(pid)


def sys_setpgid(k, p, pid: int, pgid: int) -> int:
    target = _proc(k, p, pid)
    if target is None or (target is not p and target.ppid != p.pid):
        return -Errno.ESRCH
    if s32(pgid) < 0:
        return -Errno.EINVAL
    target.pgid = pgid or target.pid
    return 0


def sys_getpgid(k, p, pid: int) -> int:
    target = _proc(k, p, pid)
    return target.pgid if target is not None else -Errno.ESRCH


def sys_getpgrp(k, p) -> int:
    return p.pgid


def sys_setsid(k, p) -> int:
    if any(q.pgid == p.pid for q in k.procs.values() if q is not p):
        return -Errno.EPERM
    p.sid = p.pgid = p.pid
    return p.pid


def sys_getsid(k, p, pid: int) -> int:
    target = _proc(k, p, pid)
    return target.sid if target is not None else -Errno.ESRCH
