"""`--strace`: every system call printed as it returns, the way strace(1) prints it.

  openat(AT_FDCWD, "/etc/motd", O_RDONLY) = 3
  write(1, "hello\\n", 6) = 6
  mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7effff000
  open("/nope", O_RDONLY) = -1 ENOENT (No such file or directory)

The kernel emits a 'syscall' event when a call finishes, synchronously, so the process's
memory can still be read here to show strings and buffers.  Reading never faults anything
in (it would change what is being traced): a pointer to memory that is not present, or
that is bad, is shown as the pointer itself.

SIGNATURES says how to show each argument of the calls we know; any other call shows its
arguments as hex.  The same decoding feeds the Chrome-trace writer (chrome.py).
"""

import os
from typing import TextIO

from ..errno import Errno
from ..mm.frames import PAGE_SIZE
from ..mm.pagetable import PTE, frame_of, USER_TOP

STRING_LIMIT = 32          # strace's default -s 32
IOV_LIMIT = 8              # iovec entries shown before "..."
AT_FDCWD = -100
MAX_ERRNO = 4095

# Argument kinds: fd, dirfd, int, uint, hex, ptr, octal, str (NUL-terminated), buf (the
# next argument is its length; for reads the result is), iov (with the next arg its count),
# oflags, prot, mapflags, whence, arch, signal, clock.
SIGNATURES: dict[str, tuple[str, ...]] = {
    'read': ('fd', 'outbuf', 'uint'),
    'write': ('fd', 'buf', 'uint'),
    'pread64': ('fd', 'outbuf', 'uint', 'int'),
    'pwrite64': ('fd', 'buf', 'uint', 'int'),
    'readv': ('fd', 'outiov', 'int'),
    'writev': ('fd', 'iov', 'int'),
    'open': ('str', 'oflags', 'mode'),
    'openat': ('dirfd', 'str', 'oflags', 'mode'),
    'creat': ('str', 'octal'),
    'close': ('fd',),
    'lseek': ('fd', 'int', 'whence'),
    'dup': ('fd',),
    'dup2': ('fd', 'fd'),
    'dup3': ('fd', 'fd', 'hex'),
    'pipe': ('ptr',),
    'pipe2': ('ptr', 'hex'),
    'stat': ('str', 'ptr'),
    'lstat': ('str', 'ptr'),
    'fstat': ('fd', 'ptr'),
    'newfstatat': ('dirfd', 'str', 'ptr', 'hex'),
    'statx': ('dirfd', 'str', 'hex', 'hex', 'ptr'),
    'access': ('str', 'octal'),
    'faccessat': ('dirfd', 'str', 'octal'),
    'getdents64': ('fd', 'ptr', 'uint'),
    'getcwd': ('ptr', 'uint'),
    'chdir': ('str',),
    'fchdir': ('fd',),
    'mkdir': ('str', 'octal'),
    'mkdirat': ('dirfd', 'str', 'octal'),
    'rmdir': ('str',),
    'unlink': ('str',),
    'unlinkat': ('dirfd', 'str', 'hex'),
    'rename': ('str', 'str'),
    'renameat': ('dirfd', 'str', 'dirfd', 'str'),
    'link': ('str', 'str'),
    'symlink': ('str', 'str'),
    'readlink': ('str', 'ptr', 'uint'),
    'linkat': ('dirfd', 'str', 'dirfd', 'str', 'hex'),
    'symlinkat': ('str', 'dirfd', 'str'),
    'readlinkat': ('dirfd', 'str', 'ptr', 'uint'),
    'chmod': ('str', 'octal'),
    'fchmod': ('fd', 'octal'),
    'fchmodat': ('dirfd', 'str', 'octal'),
    'chown': ('str', 'int', 'int'),
    'fchown': ('fd', 'int', 'int'),
    'lchown': ('str', 'int', 'int'),
    'fchownat': ('dirfd', 'str', 'int', 'int', 'hex'),
    'utimensat': ('dirfd', 'str', 'ptr', 'hex'),
    'umask': ('octal',),
    'mknod': ('str', 'octal', 'hex'),
    'mknodat': ('dirfd', 'str', 'octal', 'hex'),
    'fallocate': ('fd', 'hex', 'int', 'int'),
    'statfs': ('str', 'ptr'),
    'fstatfs': ('fd', 'ptr'),
    'flock': ('fd', 'hex'),
    'sendfile': ('fd', 'fd', 'ptr', 'uint'),
    'truncate': ('str', 'int'),
    'ftruncate': ('fd', 'int'),
    'fsync': ('fd',),
    'ioctl': ('fd', 'hex', 'hex'),
    'fcntl': ('fd', 'int', 'hex'),
    'mmap': ('ptr', 'uint', 'prot', 'mapflags', 'fd', 'hex'),
    'mprotect': ('ptr', 'uint', 'prot'),
    'munmap': ('ptr', 'uint'),
    'brk': ('ptr',),
    'exit': ('int',),
    'exit_group': ('int',),
    'execve': ('str', 'ptr', 'ptr'),
    'wait4': ('int', 'ptr', 'hex', 'ptr'),
    'kill': ('int', 'signal'),
    'getpid': (), 'getppid': (), 'gettid': (), 'getuid': (), 'getgid': (),
    'geteuid': (), 'getegid': (), 'fork': (), 'vfork': (), 'sched_yield': (),
    'clone': ('hex', 'ptr', 'ptr', 'ptr', 'hex'),
    'arch_prctl': ('arch', 'hex'),
    'set_tid_address': ('ptr',),
    'set_robust_list': ('ptr', 'uint'),
    'rt_sigaction': ('signal', 'ptr', 'ptr', 'uint'),
    'rt_sigprocmask': ('int', 'ptr', 'ptr', 'uint'),
    'nanosleep': ('ptr', 'ptr'),
    'clock_nanosleep': ('clock', 'hex', 'ptr', 'ptr'),
    'clock_gettime': ('clock', 'ptr'),
    'clock_getres': ('clock', 'ptr'),
    'gettimeofday': ('ptr', 'ptr'),
    'uname': ('ptr',),
    'getrandom': ('ptr', 'uint', 'hex'),
    'prlimit64': ('int', 'int', 'ptr', 'ptr'),
    'sched_getaffinity': ('int', 'uint', 'ptr'),
}

# Calls whose result is an address, shown in hex.
POINTER_RESULTS = {'mmap', 'brk', 'mremap', 'shmat'}

O_FLAGS = [(0o100, 'O_CREAT'), (0o200, 'O_EXCL'), (0o400, 'O_NOCTTY'), (0o1000, 'O_TRUNC'),
           (0o2000, 'O_APPEND'), (0o4000, 'O_NONBLOCK'), (0o4010000, 'O_SYNC'),
           (0o10000, 'O_DSYNC'), (0o40000, 'O_DIRECT'), (0o100000, 'O_LARGEFILE'),
           (0o200000, 'O_DIRECTORY'), (0o400000, 'O_NOFOLLOW'), (0o1000000, 'O_NOATIME'),
           (0o2000000, 'O_CLOEXEC'), (0o10000000, 'O_PATH')]
O_ACCMODE = {0: 'O_RDONLY', 1: 'O_WRONLY', 2: 'O_RDWR', 3: 'O_ACCMODE'}
O_CREAT = 0o100
PROT_FLAGS = [(1, 'PROT_READ'), (2, 'PROT_WRITE'), (4, 'PROT_EXEC')]
MAP_FLAGS = [(0x01, 'MAP_SHARED'), (0x02, 'MAP_PRIVATE'), (0x10, 'MAP_FIXED'),
             (0x20, 'MAP_ANONYMOUS'), (0x100, 'MAP_GROWSDOWN'), (0x800, 'MAP_DENYWRITE'),
             (0x1000, 'MAP_EXECUTABLE'), (0x2000, 'MAP_LOCKED'), (0x4000, 'MAP_NORESERVE'),
             (0x8000, 'MAP_POPULATE'), (0x10000, 'MAP_NONBLOCK'), (0x20000, 'MAP_STACK'),
             (0x40000, 'MAP_HUGETLB'), (0x100000, 'MAP_FIXED_NOREPLACE')]
WHENCE = {0: 'SEEK_SET', 1: 'SEEK_CUR', 2: 'SEEK_END', 3: 'SEEK_DATA', 4: 'SEEK_HOLE'}
ARCH_PRCTL = {0x1001: 'ARCH_SET_GS', 0x1002: 'ARCH_SET_FS', 0x1003: 'ARCH_GET_FS', 0x1004: 'ARCH_GET_GS'}
CLOCKS = {0: 'CLOCK_REALTIME', 1: 'CLOCK_MONOTONIC', 2: 'CLOCK_PROCESS_CPUTIME_ID',
          3: 'CLOCK_THREAD_CPUTIME_ID', 4: 'CLOCK_MONOTONIC_RAW', 5: 'CLOCK_REALTIME_COARSE',
          6: 'CLOCK_MONOTONIC_COARSE', 7: 'CLOCK_BOOTTIME'}
SIGNALS = {1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 4: 'SIGILL', 5: 'SIGTRAP', 6: 'SIGABRT',
           7: 'SIGBUS', 8: 'SIGFPE', 9: 'SIGKILL', 10: 'SIGUSR1', 11: 'SIGSEGV', 12: 'SIGUSR2',
           13: 'SIGPIPE', 14: 'SIGALRM', 15: 'SIGTERM', 17: 'SIGCHLD', 18: 'SIGCONT',
           19: 'SIGSTOP', 20: 'SIGTSTP'}
_ESCAPES = {ord('\n'): '\\n', ord('\t'): '\\t', ord('\r'): '\\r', ord('\v'): '\\v',
            ord('\f'): '\\f', ord('"'): '\\"', ord('\\'): '\\\\'}


def signed(v: int, bits: int = 64) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def flags_text(value: int, names: list[tuple[int, str]], zero: str = '0') -> str:
    parts = []
    for bit, name in names:
        if value & bit == bit and bit:
            parts.append(name)
            value &= ~bit
    if value:
        parts.append(hex(value))
    return '|'.join(parts) or zero


def open_flags(value: int) -> str:
    value &= 0xFFFF_FFFF
    rest = flags_text(value & ~3, O_FLAGS, '')
    return O_ACCMODE[value & 3] + ('|' + rest if rest else '')


def quote(data: bytes, truncated: bool) -> str:
    text = ''.join(_ESCAPES.get(b) or (chr(b) if 32 <= b < 127 else f'\\{b:o}') for b in data)
    return f'"{text}"' + ('...' if truncated else '')


# A call a signal interrupted, as strace shows it before the kernel decides (proc/restart.py).
RESTART_TEXT = {512: 'ERESTARTSYS (To be restarted if SA_RESTART is set)',
                513: 'ERESTARTNOINTR (To be restarted)',
                514: 'ERESTARTNOHAND (To be restarted if no handler)',
                516: 'ERESTART_RESTARTBLOCK (Interrupted by signal)'}


def errno_text(result: int) -> str:
    """'-1 ENOENT (No such file or directory)' for a negative errno result."""
    e = -result
    if e in RESTART_TEXT:
        return '? ' + RESTART_TEXT[e]
    try:
        name = Errno(e).name
    except ValueError:
        name = f'E{e}'
    return f'-1 {name} ({os.strerror(e)})'


def is_error(result: int) -> bool:
    return -MAX_ERRNO <= signed(result) < 0


class MemoryPeek:
    """Read a process's memory without faulting anything in; None when not readable."""

    def __init__(self, kernel, pid: int):
        p = kernel.procs.get(pid) if kernel is not None else None
        from ..proc.process import State
        self.ok = p is not None and p.state is not State.ZOMBIE
        self.pt = p.aspace.pt if self.ok else None
        self.mem = kernel.machine.memory if self.ok else None

    def read(self, va: int, n: int) -> bytes | None:
        """Up to n bytes from va, as many as are present (None if the first byte is not)."""
        if not self.ok or not 0 < va < USER_TOP:
            return None
        try:
            out = b''
            while len(out) < n:
                a = va + len(out)
                if a >= USER_TOP:
                    break
                pte = self.pt.lookup(a)
                if pte & (PTE.P | PTE.U) != PTE.P | PTE.U:
                    break
                step = min(n - len(out), PAGE_SIZE - (a & (PAGE_SIZE - 1)))
                out += self.mem.read(frame_of(pte) | (a & (PAGE_SIZE - 1)), step)
            return out or None
        except Exception:
            return None

    def cstr(self, va: int, limit: int = STRING_LIMIT) -> tuple[bytes, bool] | None:
        """(string, truncated) for a NUL-terminated string, None if unreadable."""
        data = self.read(va, limit + 1)
        if data is None:
            return None
        nul = data.find(b'\0')
        if nul >= 0:
            return data[:nul], False
        if len(data) > limit:
            return data[:limit], True
        return None

    def u64s(self, va: int, n: int) -> list[int] | None:
        data = self.read(va, 8 * n)
        if data is None or len(data) < 8 * n:
            return None
        return [int.from_bytes(data[i:i + 8], 'little') for i in range(0, 8 * n, 8)]


def pointer(v: int) -> str:
    return 'NULL' if v == 0 else hex(v)


def buffer_text(peek: MemoryPeek, va: int, length: int) -> str:
    if length <= 0:
        return '""' if va else pointer(va)
    data = peek.read(va, min(length, STRING_LIMIT))
    if data is None or len(data) < min(length, STRING_LIMIT):
        return pointer(va)
    return quote(data, length > STRING_LIMIT)


def iov_text(peek: MemoryPeek, va: int, count: int, limit: int | None) -> str:
    """[{iov_base="...", iov_len=N}, ...]; `limit` bounds the bytes shown (for reads)."""
    count = signed(count, 32)
    if count < 0 or count > 1024:
        return pointer(va)
    words = peek.u64s(va, min(count, IOV_LIMIT) * 2)
    if words is None:
        return pointer(va)
    parts = []
    for i in range(0, len(words), 2):
        base, length = words[i], words[i + 1]
        shown = length if limit is None else max(0, min(length, limit))
        if limit is not None:
            limit -= shown
        parts.append(f'{{iov_base={buffer_text(peek, base, shown)}, iov_len={length}}}')
    if count > IOV_LIMIT:
        parts.append('...')
    return '[' + ', '.join(parts) + ']'


def format_arg(kind: str, value: int, nxt: int, result: int, peek: MemoryPeek) -> str:
    if kind == 'fd':
        return str(signed(value, 32))
    if kind == 'dirfd':
        v = signed(value, 32)
        return 'AT_FDCWD' if v == AT_FDCWD else str(v)
    if kind == 'int':
        return str(signed(value))
    if kind == 'uint':
        return str(value)
    if kind == 'ptr':
        return pointer(value)
    if kind == 'octal':
        return f'0{value:o}' if value else '0'
    if kind == 'str':
        s = peek.cstr(value)
        return pointer(value) if s is None else quote(*s)
    if kind == 'buf':
        return buffer_text(peek, value, nxt)
    if kind == 'outbuf':
        return buffer_text(peek, value, signed(result)) if not is_error(result) else pointer(value)
    if kind == 'iov':
        return iov_text(peek, value, nxt, None)
    if kind == 'outiov':
        return iov_text(peek, value, nxt, signed(result)) if not is_error(result) else pointer(value)
    if kind == 'oflags':
        return open_flags(value)
    if kind == 'mode':
        return f'0{value:o}'
    if kind == 'prot':
        return flags_text(value, PROT_FLAGS, 'PROT_NONE')
    if kind == 'mapflags':
        return flags_text(value, MAP_FLAGS)
    if kind == 'whence':
        return WHENCE.get(value, str(value))
    if kind == 'arch':
        return ARCH_PRCTL.get(value, hex(value))
    if kind == 'clock':
        return CLOCKS.get(value, str(value))
    if kind == 'signal':
        return SIGNALS.get(value, str(value))
    return hex(value) if value else '0'


def decode_args(kernel, pid: int, name: str, args: list[int], result: int) -> list[str]:
    """The arguments of a finished call as strace shows them; never raises."""
    kinds = SIGNATURES.get(name)
    peek = MemoryPeek(kernel, pid)
    if kinds is None:
        return [hex(a) for a in args]
    out = []
    for i, kind in enumerate(kinds):
        if i >= len(args):
            break
        value = args[i]
        nxt = args[i + 1] if i + 1 < len(args) else 0
        if kind == 'mode':
            prev = args[i - 1] if i else 0       # open's mode only matters with O_CREAT
            if not prev & O_CREAT:
                continue
        try:
            out.append(format_arg(kind, value, nxt, result, peek))
        except Exception:
            out.append(hex(value))
    return out


def format_result(name: str, result: int | None) -> str:
    if result is None:
        return '?'
    if is_error(result):
        return errno_text(signed(result))
    if name in POINTER_RESULTS:
        return hex(result & 0xFFFF_FFFF_FFFF_FFFF)
    return str(signed(result))


def format_call(kernel, pid: int, name: str, args: list[int], result: int | None) -> str:
    """'write(1, "hi\\n", 3) = 3'"""
    shown = decode_args(kernel, pid, name, args, result if result is not None else 0)
    return f'{name}({", ".join(shown)}) = {format_result(name, result)}'


def exit_text(status: int) -> str:
    if status & 0x7F:
        sig = status & 0x7F
        return f'+++ killed by {SIGNALS.get(sig, sig)} +++'
    return f'+++ exited with {(status >> 8) & 0xFF} +++'


class Strace:
    """A Tracer listener writing one strace-style line per system call to `stream`."""

    def __init__(self, kernel, stream: TextIO):
        self.kernel = kernel
        self.stream = stream
        self._exited_in_call: set[int] = set()   # pids whose exit line is already written

    def _prefix(self, pid: int) -> str:
        return f'[pid {pid}] ' if len(self.kernel.procs) > 1 else ''

    def _write(self, pid: int, text: str) -> None:
        self.stream.write(self._prefix(pid) + text + '\n')
        self.stream.flush()

    def __call__(self, event) -> None:
        try:
            self._handle(event)
        except Exception as e:          # a tracer must never bring the kernel down
            self._write(event.pid, f'(strace: cannot show {event.kind} event: {e})')

    def _handle(self, event) -> None:
        a = event.args
        if event.kind == 'syscall':
            if event.pid in self._exited_in_call and a.get('name') in ('exit', 'exit_group'):
                self._exited_in_call.discard(event.pid)
                return
            self._write(event.pid, format_call(self.kernel, event.pid, a['name'], a['args'], a['result']))
        elif event.kind == 'exit':
            p = self.kernel.procs.get(event.pid)
            call = getattr(p, 'syscall', ()) if p is not None else ()
            if call and call[1] in ('exit', 'exit_group') and not p.killed_by:
                # strace shows "exit_group(0) = ?" before "+++ exited with 0 +++"
                self._write(event.pid, f'{call[1]}({", ".join(str(signed(x)) for x in call[2][:1])}) = ?')
                self._exited_in_call.add(event.pid)
            self._write(event.pid, exit_text(a.get('status', 0)))
        elif event.kind == 'kill':
            sig = a.get('signal', 0)
            report = a.get('report', '')
            self._write(event.pid, f'--- {SIGNALS.get(sig, sig)} {{{report}}} ---' if report
                        else f'--- {SIGNALS.get(sig, sig)} ---')
