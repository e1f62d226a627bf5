"""How strace(1) writes values: flag sets, strings, structures, errors (for decode.py).

Each function turns numbers (or a ctypes structure read from the traced process) into
strace's text: open_flags(0o2000000) is 'O_RDONLY|O_CLOEXEC', quote(b'hi\\n') is '"hi\\n"',
stat_text(st) is '{st_mode=S_IFREG|0644, st_size=12, ...}'.  Memory is read through
peek.MemoryPeek: what cannot be read is shown as its address.
"""

import ctypes
import os
from typing import Callable

from ..errno import Errno
from . import names as N
from .peek import MemoryPeek, STRING_LIMIT

ARRAY_LIMIT = 32           # array elements shown before "..." (argv, pollfd, iovec)
MAX_ERRNO = 4095
UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2


def signed(v: int, bits: int = 64) -> int:
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def is_error(result: int) -> bool:
    return -MAX_ERRNO <= signed(result) < 0


class Call:
    """A finished call as the formatters see it: result None means it did not return."""

    def __init__(self, peek: MemoryPeek, name: str, args: list[int], result: int | None):
        self.peek, self.name, self.args, self.result = peek, name, args, result
        self.ok = result is not None and not is_error(result)

    def arg(self, i: int) -> int:
        return self.args[i] if i < len(self.args) else 0

    @property
    def returned(self) -> int:
        return signed(self.result) if self.result is not None else 0


# -- numbers, flags, names ---------------------------------------------------------------
def flags_text(value: int, table: list[tuple[int, str]], zero: str = '0') -> str:
    parts = []
    for bits, name in table:
        if bits and value & bits == bits:
            parts.append(name)
            value &= ~bits
    if value:
        parts.append(hex(value))
    return '|'.join(parts) or zero


def pointer(v: int) -> str:
    return 'NULL' if v == 0 else hex(v)


def octal(v: int) -> str:
    return f'0{v:o}' if v else '0'


def signal_name(n: int) -> str:
    return N.SIGNALS.get(n, str(n))


def open_flags(value: int) -> str:
    value &= 0xFFFF_FFFF
    rest = flags_text(value & ~3, N.O_FLAGS, '')
    return N.O_ACCMODE[value & 3] + ('|' + rest if rest else '')


def file_mode(mode: int) -> str:
    """S_IFREG|0644, as strace shows st_mode and mknod's mode."""
    kind = N.FILE_TYPES.get(mode & N.S_IFMT)
    parts = [kind] if kind else []
    special = flags_text(mode & 0o7000, N.MODE_BITS, '')
    if special:
        parts.append(special)
    return '|'.join(parts + [f'{mode & 0o777:04o}'])


def sigset_text(mask: int) -> str:
    """[INT QUIT], or ~[...] naming the signals left out when most are in, as strace does."""
    members = [n for n in range(1, N.NSIG + 1) if mask >> (n - 1) & 1]
    if len(members) > N.NSIG // 2:
        outside = [n for n in range(1, N.NSIG + 1) if not mask >> (n - 1) & 1]
        return '~[' + ' '.join(signal_name(n).removeprefix('SIG') for n in outside) + ']'
    return '[' + ' '.join(signal_name(n).removeprefix('SIG') for n in members) + ']'


def rlim_text(v: int) -> str:
    if v == N.RLIM_INFINITY:
        return 'RLIM64_INFINITY'
    return f'{v // 1024}*1024' if v > 1024 and v % 1024 == 0 else str(v)


# -- strings -------------------------------------------------------------------------------
_ESCAPES = {ord('\n'): '\\n', ord('\t'): '\\t', ord('\r'): '\\r', ord('\v'): '\\v',
            ord('\f'): '\\f', ord('"'): '\\"', ord('\\'): '\\\\'}


def quote(data: bytes, truncated: bool = False) -> str:
    """A C string literal as strace writes one: octal escapes, three digits only where a
    digit follows (so "\\0" then "1" is not read back as "\\01")."""
    out = []
    for i, b in enumerate(data):
        if b in _ESCAPES:
            out.append(_ESCAPES[b])
        elif 32 <= b < 127:
            out.append(chr(b))
        elif i + 1 < len(data) and 0x30 <= data[i + 1] <= 0x37:
            out.append(f'\\{b:03o}')
        else:
            out.append(f'\\{b:o}')
    return '"' + ''.join(out) + '"' + ('...' if truncated else '')


PATH_MAX = 4096           # strace shows file names whole (-s limits other strings)


def string_at(peek: MemoryPeek, va: int, limit: int = STRING_LIMIT) -> str:
    s = peek.cstr(va, limit)
    return pointer(va) if s is None else quote(*s)


def buffer_at(peek: MemoryPeek, va: int, length: int, limit: int = STRING_LIMIT) -> str:
    if length <= 0:
        return '""' if va else pointer(va)
    data = peek.exactly(va, min(length, limit))
    return pointer(va) if data is None else quote(data, length > limit)


def string_array(peek: MemoryPeek, va: int) -> str:
    """execve's argv: ["ls", "-l"]."""
    ptrs = _pointers(peek, va) if va else None
    if ptrs is None:
        return pointer(va)
    shown = [string_at(peek, p) for p in ptrs[:ARRAY_LIMIT]]
    return '[' + ', '.join(shown + (['...'] if len(ptrs) > ARRAY_LIMIT else [])) + ']'


def _pointers(peek: MemoryPeek, va: int, limit: int = 4096) -> list[int] | None:
    """A NULL-terminated array of pointers (without the NULL)."""
    out = []
    while len(out) < limit:
        word = peek.u64s(va + 8 * len(out), 1)
        if word is None:
            return None
        if word[0] == 0:
            return out
        out.append(word[0])
    return out


def env_summary(peek: MemoryPeek, va: int) -> str:
    """execve's envp, as strace shows it unless asked to be verbose: 0x7ffd... /* 3 vars */"""
    ptrs = _pointers(peek, va) if va else None
    return pointer(va) if ptrs is None else f'{pointer(va)} /* {len(ptrs)} vars */'


# -- structures ------------------------------------------------------------------------------
def struct_at(c: Call, layout, va: int, show: Callable, out: bool = False) -> str:
    """A structure the call reads, or (out) one it filled in: shown only if it succeeded."""
    if va == 0 or (out and not c.ok):
        return pointer(va)
    s = c.peek.struct(layout, va)
    return pointer(va) if s is None else show(s)


class Timespec(ctypes.LittleEndianStructure):
    """struct timespec (include/uapi/linux/time_types.h: __kernel_timespec)."""
    _fields_ = [('tv_sec', ctypes.c_int64), ('tv_nsec', ctypes.c_int64)]


assert ctypes.sizeof(Timespec) == 16


class WinSize(ctypes.LittleEndianStructure):
    """struct winsize (asm-generic/termios.h)."""
    _fields_ = [('ws_row', ctypes.c_uint16), ('ws_col', ctypes.c_uint16),
                ('ws_xpixel', ctypes.c_uint16), ('ws_ypixel', ctypes.c_uint16)]


assert ctypes.sizeof(WinSize) == 8


def timespec_text(t) -> str:
    nsec = {UTIME_NOW: 'UTIME_NOW', UTIME_OMIT: 'UTIME_OMIT'}.get(t.tv_nsec, t.tv_nsec)
    return f'{{tv_sec={t.tv_sec}, tv_nsec={nsec}}}'


def timeval_text(t) -> str:
    return f'{{tv_sec={t.tv_sec}, tv_usec={t.tv_usec}}}'


def stat_text(st) -> str:
    """strace's brief struct stat: the mode, then the size (or the device), then ..."""
    kind = st.st_mode & N.S_IFMT
    if kind in (0o020000, 0o060000):
        rdev = f'st_rdev=makedev({os.major(st.st_rdev):#x}, {os.minor(st.st_rdev):#x})'
        return f'{{st_mode={file_mode(st.st_mode)}, {rdev}, ...}}'
    return f'{{st_mode={file_mode(st.st_mode)}, st_size={st.st_size}, ...}}'


def statx_text(st) -> str:
    return (f'{{stx_mask={flags_text(st.stx_mask, N.STATX_MASK)}, stx_attributes={st.stx_attributes:#x}, '
            f'stx_mode={file_mode(st.stx_mode)}, stx_size={st.stx_size}, ...}}'
            .replace('stx_attributes=0x0,', 'stx_attributes=0,'))


def sigaction_text(act) -> str:
    handler = N.SIG_HANDLERS.get(act.handler, hex(act.handler))
    text = (f'{{sa_handler={handler}, sa_mask={sigset_text(act.mask)}, '
            f'sa_flags={flags_text(act.flags, N.SA_FLAGS)}')
    if act.flags & 0x04000000:                      # SA_RESTORER
        text += f', sa_restorer={pointer(act.restorer)}'
    return text + '}'


def stack_text(ss) -> str:
    return (f'{{ss_sp={pointer(ss.ss_sp)}, ss_flags={flags_text(ss.ss_flags & 0xFFFF_FFFF, N.SS_FLAGS)}, '
            f'ss_size={ss.ss_size}}}')


def wait_status_text(status: int) -> str:
    """[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]"""
    sig = status & 0x7F
    if sig == 0:
        text = f'WIFEXITED(s) && WEXITSTATUS(s) == {(status >> 8) & 0xFF}'
    elif sig == 0x7F:
        text = f'WIFSTOPPED(s) && WSTOPSIG(s) == {signal_name((status >> 8) & 0xFF)}'
    else:
        text = f'WIFSIGNALED(s) && WTERMSIG(s) == {signal_name(sig)}'
        if status & 0x80:
            text += ' && WCOREDUMP(s)'
    if status == 0xFFFF:
        text = 'WIFCONTINUED(s)'
    return f'[{{{text}}}]'


def iov_text(c: Call, va: int, count: int, limit: int | None) -> str:
    """[{iov_base="...", iov_len=N}, ...]; `limit` bounds the bytes shown (for reads)."""
    count = signed(count, 32)
    if count < 0 or count > 1024:
        return pointer(va)
    words = c.peek.u64s(va, min(count, ARRAY_LIMIT) * 2) if count else []
    if words is None:
        return pointer(va)
    parts = []
    for i in range(0, len(words), 2):
        base, length = words[i], words[i + 1]
        shown = length if limit is None else max(0, min(length, limit))
        if limit is not None:
            limit -= shown
        parts.append(f'{{iov_base={buffer_at(c.peek, base, shown)}, iov_len={length}}}')
    if count > ARRAY_LIMIT:
        parts.append('...')
    return '[' + ', '.join(parts) + ']'


def pollfds_text(c: Call, va: int, count: int, field: str) -> str:
    """[{fd=0, events=POLLIN}]; with field 'revents', only the entries that have some."""
    from ..sys.poll import PollFd
    n = min(count, ARRAY_LIMIT)
    data = c.peek.exactly(va, n * ctypes.sizeof(PollFd)) if n else b''
    if data is None or count > 1024:
        return pointer(va)
    fds = [PollFd.from_buffer_copy(data, 8 * i) for i in range(n)]
    if field == 'revents':
        fds = [f for f in fds if f.revents]
    parts = [f'{{fd={f.fd}, {field}={flags_text(getattr(f, field) & 0xFFFF, N.POLL_EVENTS)}}}' for f in fds]
    if count > ARRAY_LIMIT and field == 'events':
        parts.append('...')
    return '[' + ', '.join(parts) + ']'


def dirents_text(c: Call, va: int) -> str:
    """getdents64's buffer as strace shows it briefly: 0x... /* 5 entries */"""
    if not c.ok:
        return pointer(va)
    data = c.peek.exactly(va, min(c.returned, 1 << 16))
    if data is None:
        return pointer(va)
    entries, at = 0, 0
    while at + 19 <= len(data):                   # d_ino, d_off, d_reclen, d_type, d_name
        reclen = int.from_bytes(data[at + 16:at + 18], 'little')
        if reclen == 0:
            break
        entries, at = entries + 1, at + reclen
    return f'{pointer(va)} /* {entries} entries */'


# -- errors -------------------------------------------------------------------------------------
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


def siginfo_text(info) -> str:
    """{si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0x10}, from the frame the kernel built."""
    name = signal_name(info.signo)
    raw = bytes(info)
    word = lambda at: int.from_bytes(raw[at:at + 4], 'little', signed=True)     # noqa: E731
    text = f'{{si_signo={name}, si_code='
    if info.code > 0 and name in N.FAULT_CODES:
        return text + f'{N.FAULT_CODES[name].get(info.code, info.code)}, si_addr={pointer(info.addr_or_pid)}}}'
    if info.code > 0 and name == 'SIGCHLD':
        return text + (f'{N.CLD_CODES.get(info.code, info.code)}, si_pid={word(16)}, si_uid={word(20)}, '
                       f'si_status={word(24)}, ...}}')
    code = N.SI_CODES.get(info.code, str(info.code))
    if info.code <= 0:
        return text + f'{code}, si_pid={word(16)}, si_uid={word(20)}}}'
    return text + code + '}'
