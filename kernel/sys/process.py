"""Process system calls: fork/clone/clone3, execve, exit, wait4 and waitid, process groups
and sessions, arch_prctl.  (User and group ids are in creds.py.)

fork and clone return twice: the child's context is the parent's at the syscall, with
rax = 0.  clone with CLONE_THREAD makes a thread of the caller's process instead of a new
process: it shares the address space, descriptors, working directory and handlers, and
starts on its own stack with its own TLS (FS base).  execve reads the program from the file system, builds the new image, and swaps it
in as the process returns to user mode (the old image stays intact if anything fails).
wait4 and waitid share one search for a child with something to report (_wait_event).
"""

import ctypes
import struct

from ..errno import Errno
from ..fs.fserror import FsError
from ..proc import elf, lifecycle
from ..proc.resources import Usage
from . import files, info
from ..mm.uaccess import BadAddress
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
    SYSVSEM = 0x40000
    DETACHED = 0x400000           # ignored by Linux since 2.6 (musl still passes it)
    CHILD_SETTID = 0x1000000
    EXIT_SIGNAL = 0xFF


# Flags that make no difference here (one user, no namespaces in ukern) yet are accepted.
CLONE_ACCEPTED = (Clone.VM | Clone.FS | Clone.FILES | Clone.SIGHAND | Clone.VFORK | Clone.PARENT |
                  Clone.THREAD | Clone.SYSVSEM | Clone.SETTLS | Clone.PARENT_SETTID |
                  Clone.CHILD_CLEARTID | Clone.CHILD_SETTID | Clone.DETACHED)


class CloneArgs(ctypes.LittleEndianStructure):
    """struct clone_args (include/uapi/linux/sched.h), up to CLONE_ARGS_SIZE_VER2."""
    _pack_ = 1
    _fields_ = [('flags', ctypes.c_uint64), ('pidfd', ctypes.c_uint64),
                ('child_tid', ctypes.c_uint64), ('parent_tid', ctypes.c_uint64),
                ('exit_signal', ctypes.c_uint64), ('stack', ctypes.c_uint64),
                ('stack_size', ctypes.c_uint64), ('tls', ctypes.c_uint64),
                ('set_tid', ctypes.c_uint64), ('set_tid_size', ctypes.c_uint64),
                ('cgroup', ctypes.c_uint64)]


assert ctypes.sizeof(CloneArgs) == 88
CLONE_ARGS_SIZES = (64, 80, 88)          # VER0, VER1 (set_tid), VER2 (cgroup)


def sys_exit(k, p, status: int):
    """exit: this thread ends (the process too if it was the last)."""
    lifecycle.exit_thread(k, p, (status & 0xFF) << 8)
    return k.NO_RETURN


def sys_exit_group(k, p, status: int):
    lifecycle.exit_process(k, p, (status & 0xFF) << 8)
    return k.NO_RETURN


def sys_getpid(k, p) -> int:
    return p.tgid


def sys_gettid(k, p) -> int:
    return p.pid


def sys_getppid(k, p) -> int:
    return p.ppid


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
    """The word cleared (and its futex woken) when this thread exits; returns the tid."""
    p.clear_child_tid = tidptr
    return p.pid


def sys_sched_yield(k, p) -> int:
    k.yield_cpu(p)
    return 0


# -- fork, clone ---------------------------------------------------------------------------
def _start_after_syscall(k, ctx, stack: int, tls: int | None) -> None:
    """A new child's or thread's registers (the caller's, rax = 0): it goes on after the
    same syscall, on its own stack and TLS when given."""
    cpu = k.cpu
    cpu.set_context_reg(ctx, 'rip', cpu.reg('rip') + SYSCALL_INSN_LEN)
    if stack:
        cpu.set_context_reg(ctx, 'rsp', stack)
    if tls is not None:
        cpu.set_context_reg(ctx, 'fs_base', tls)


def _new_child(k, p, stack: int = 0, tls: int = None):
    child = lifecycle.fork(k, p)
    if isinstance(child, int):
        return child
    _start_after_syscall(k, child.ctx, stack, tls)
    if k.trace.enabled:
        k._emit('fork', p, child=child.pid)
    return child


def sys_fork(k, p) -> int:
    child = _new_child(k, p)
    return child if isinstance(child, int) else child.pid


def sys_clone(k, p, flags: int, stack: int, parent_tid: int, child_tid: int, tls: int):
    """clone(2) ignores flags it does not know (as Linux's old call does); clone3 refuses them."""
    flags &= CLONE_ACCEPTED
    return _clone(k, p, flags, stack, parent_tid, child_tid, tls)


def sys_clone3(k, p, args_addr: int, size: int):
    if size not in CLONE_ARGS_SIZES:
        return -Errno.EINVAL
    args = CloneArgs.from_buffer_copy(k.user(p).read(args_addr, size).ljust(ctypes.sizeof(CloneArgs), b'\0'))
    if args.flags & ~CLONE_ACCEPTED:
        return -Errno.EINVAL            # unknown flags, or an exit signal in the flags
    if args.set_tid or args.set_tid_size or args.exit_signal > 64 or args.stack_size and not args.stack:
        return -Errno.EINVAL
    stack = args.stack + args.stack_size if args.stack else 0   # clone3 gives the lowest address
    return _clone(k, p, args.flags, stack, args.parent_tid, args.child_tid, args.tls)


def _clone(k, p, flags: int, stack: int, parent_tid: int, child_tid: int, tls: int):
    if flags & ~CLONE_ACCEPTED:
        return -Errno.EINVAL
    if flags & Clone.THREAD and not flags & Clone.SIGHAND or flags & Clone.SIGHAND and not flags & Clone.VM:
        return -Errno.EINVAL            # Linux's rules: a thread shares handlers, handlers share memory
    if flags & Clone.THREAD:
        child = _new_thread(k, p, flags, stack, tls if flags & Clone.SETTLS else None)
    else:
        child = _new_child(k, p, stack, tls if flags & Clone.SETTLS else None)
    if isinstance(child, int):
        return child
    # The child exists now: a bad tid pointer is ignored, as Linux ignores it.
    if flags & Clone.PARENT_SETTID:
        _put_tid(k.user(p).write, parent_tid, child.pid)
    if flags & Clone.CHILD_SETTID:
        _put_tid(lambda va, data: k.write_into(child.aspace, va, data), child_tid, child.pid)
    if flags & Clone.CHILD_CLEARTID:
        child.clear_child_tid = child_tid
    if flags & Clone.PARENT and not flags & Clone.THREAD:
        child.ppid = p.ppid
    return child.pid


def _put_tid(write, addr: int, tid: int) -> None:
    try:
        write(addr, struct.pack('<i', tid))
    except BadAddress:
        pass


def _new_thread(k, p, flags: int, stack: int, tls: int | None):
    t = lifecycle.new_thread(k, p, share_files=bool(flags & Clone.FILES), share_fs=bool(flags & Clone.FS))
    if isinstance(t, int):
        return t
    _start_after_syscall(k, t.ctx, stack, tls)
    if k.trace.enabled:
        k._emit('fork', p, child=t.pid, thread=True)
    return t


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
    """(the program: ELF bytes or a proc.program.Program; its canonical path; argv) for
    execve of `path`: a `#!` script runs its interpreter with argv = [interpreter, (argument,) path, argv[1:]...] (a generator)."""
    for _ in range(MAX_INTERPRETERS + 1):
        data, real = yield from files._vfs(k).read_file(path, p.cwd, executable=True)
        head = data if isinstance(data, bytes) else data.head      # (a paged program)
        if not head.startswith(b'#!'):
            return data, real, argv
        interp, arg = parse_shebang(head)
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


# -- wait4, waitid -----------------------------------------------------------------------------
WEXITED, WNOWAIT = 4, 0x0100_0000
P_ALL, P_PID, P_PGID = 0, 1, 2
CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_STOPPED, CLD_CONTINUED = 1, 2, 3, 5, 6
SIGCHLD, SIGCONT = 17, 18
CONTINUED_STATUS = 0xFFFF            # wait4's status for a child resumed by SIGCONT
CORE_FLAG = 0x80
THREAD_WAIT_FLAGS = 0xE000_0000      # __WNOTHREAD, __WALL, __WCLONE: one thread per process here


def _matches(p, child, pid: int) -> bool:
    """wait4's pid argument: one child, this group, any child, or group -pid."""
    if pid > 0:
        return child.pid == pid
    if pid == 0:
        return child.pgid == p.pgid
    if pid == -1:
        return True
    return child.pgid == -pid


def _wait_event(k, p, match, options: int):
    """A generator that waits until a child for which match(child) has something to
    report: returns (child, wait status, consume) where consume() marks it reported (it
    reaps a zombie), or None for WNOHANG with nothing yet, or -ECHILD."""
    while True:
        kids = [c for c in lifecycle.children(k, p) if match(c)]
        if not kids:
            return -Errno.ECHILD
        for child in kids:
            event = _event_of(k, child, options)
            if event is not None:
                return event
        if options & WNOHANG:
            return None
        yield p.children_events


def _event_of(k, child, options: int):
    if lifecycle.reapable(k, child) and options & WEXITED:
        return child, child.exit_status, lambda: lifecycle.reap(k, child)
    if options & WUNTRACED and not child.stop_reported and lifecycle.group_stopped(k, child):
        return child, 0x7F | (child.stop_signal << 8), lambda: setattr(child, 'stop_reported', True)
    if options & WCONTINUED and not child.cont_reported:
        return child, CONTINUED_STATUS, lambda: setattr(child, 'cont_reported', True)
    return None


def sys_wait4(k, p, pid: int, wstatus: int, options: int, rusage: int):
    pid = s32(pid)
    if options & ~(WNOHANG | WUNTRACED | WCONTINUED | THREAD_WAIT_FLAGS):
        return -Errno.EINVAL
    event = yield from _wait_event(k, p, lambda c: _matches(p, c, pid), options | WEXITED)
    if not isinstance(event, tuple):
        return event or 0
    child, status, consume = event
    if wstatus:
        k.user(p).write(wstatus, struct.pack('<i', status))
    if rusage:
        k.user(p).write(rusage, _child_rusage(child))
    consume()
    return child.pid


def _child_rusage(child) -> bytes:
    total = Usage()
    total.add(child.usage)
    return info.rusage_bytes(total)


class SiginfoChld(ctypes.LittleEndianStructure):
    """siginfo_t as waitid fills it for SIGCHLD (include/uapi/asm-generic/siginfo.h)."""
    _fields_ = [('si_signo', ctypes.c_int32), ('si_errno', ctypes.c_int32), ('si_code', ctypes.c_int32),
                ('_pad', ctypes.c_int32), ('si_pid', ctypes.c_int32), ('si_uid', ctypes.c_uint32),
                ('si_status', ctypes.c_int32), ('_pad2', ctypes.c_int32),
                ('si_utime', ctypes.c_int64), ('si_stime', ctypes.c_int64), ('_rest', ctypes.c_uint8 * 80)]


assert ctypes.sizeof(SiginfoChld) == 128


def _siginfo(child, status: int) -> SiginfoChld:
    if status == CONTINUED_STATUS:
        code, value = CLD_CONTINUED, SIGCONT
    elif status & 0xFF == 0x7F:
        code, value = CLD_STOPPED, status >> 8
    elif status & 0x7F:
        code, value = (CLD_DUMPED if status & CORE_FLAG else CLD_KILLED), status & 0x7F
    else:
        code, value = CLD_EXITED, status >> 8
    u = child.usage
    return SiginfoChld(si_signo=SIGCHLD, si_code=code, si_pid=child.pid, si_uid=child.creds.ruid,
                       si_status=value, si_utime=info.ticks(u.utime), si_stime=info.ticks(u.stime))


def sys_waitid(k, p, idtype: int, id: int, infop: int, options: int, rusage: int):
    match = _id_matcher(p, idtype, s32(id))
    allowed = WNOHANG | WUNTRACED | WEXITED | WCONTINUED | WNOWAIT | THREAD_WAIT_FLAGS
    if match is None or options & ~allowed or not options & (WUNTRACED | WEXITED | WCONTINUED):
        return -Errno.EINVAL
    event = yield from _wait_event(k, p, match, options)
    if isinstance(event, int):
        return event
    if event is None:                            # WNOHANG: Linux clears the record it would fill
        if infop:
            k.user(p).write(infop, bytes(SiginfoChld()))
        return 0
    child, status, consume = event
    if infop:
        k.user(p).write(infop, bytes(_siginfo(child, status)))
    if rusage:
        k.user(p).write(rusage, _child_rusage(child))
    if not options & WNOWAIT:
        consume()
    return 0


def _id_matcher(p, idtype: int, id: int):
    if idtype == P_ALL:
        return lambda c: True
    if idtype == P_PID and id > 0:
        return lambda c: c.pid == id
    if idtype == P_PGID and id >= 0:
        pgid = id or p.pgid
        return lambda c: c.pgid == pgid
    return None


# -- process groups and sessions ----------------------------------------------------------------
def _proc(k, p, pid: int):
    """The process (its leader) a pid names; 0 is the caller's."""
    pid = s32(pid)
    target = lifecycle.leader_of(k, p) if pid == 0 else k.procs.get(pid)
    return target if target is not None and target.is_leader else None


def sys_setpgid(k, p, pid: int, pgid: int) -> int:
    target = _proc(k, p, pid)
    if target is None or (target.tgid != p.tgid and target.ppid != p.tgid):
        return -Errno.ESRCH
    if s32(pgid) < 0:
        return -Errno.EINVAL
    for t in lifecycle.threads_of(k, target) + [target]:
        t.pgid = pgid or target.pid
    return 0


def sys_getpgid(k, p, pid: int) -> int:
    target = _proc(k, p, pid)
    return target.pgid if target is not None else -Errno.ESRCH


def sys_getpgrp(k, p) -> int:
    return p.pgid


def sys_setsid(k, p) -> int:
    if any(q.pgid == p.tgid for q in k.procs.values() if q.tgid != p.tgid):
        return -Errno.EPERM
    for t in lifecycle.threads_of(k, p) + [lifecycle.leader_of(k, p)]:
        t.sid = t.pgid = p.tgid
    return p.tgid


def sys_getsid(k, p, pid: int) -> int:
    target = _proc(k, p, pid)
    return target.sid if target is not None else -Errno.ESRCH
