"""Showing a finished system call as strace(1) shows it: its arguments and its result.

sysargs.SIGNATURES gives each call's argument kinds; KINDS maps a kind to the function
that shows one argument: show(call, i) -> text, or None to leave the argument out (open's
mode without O_CREAT).  A few calls whose arguments depend on each other are shown whole
(CALLS), and a few results carry a note (NOTES: `= 1 ([{fd=0, revents=POLLIN}])`).
render.py writes the values; decode_args, format_result and format_call never raise.
"""

import ctypes
import importlib
from typing import Callable

from . import names as N
from .peek import MemoryPeek
from .render import (ARRAY_LIMIT, Call, Timespec, WinSize, buffer_at, env_summary, errno_text, file_mode,
                     flags_text, iov_text, is_error, octal, open_flags, pointer, pollfds_text,
                     quote, dirents_text, rlim_text, sigaction_text, sigset_text, signal_name,
                     signed, stack_text, stat_text, statx_text, string_array, string_at,
                     timespec_text, timeval_text, wait_status_text, struct_at, PATH_MAX)
from .sysargs import SIGNATURES, POINTER_RESULTS


# -- the argument kinds ----------------------------------------------------------------------
def _flags(table, zero='0'):
    return lambda c, i: flags_text(c.arg(i) & 0xFFFF_FFFF, table, zero)


def _named(table, bits=32):
    return lambda c, i: table.get(signed(c.arg(i), bits), str(signed(c.arg(i), bits)))


def _out(layout_name: str, show: Callable):
    """A structure the call fills in; layout_name is looked up when first needed."""
    return lambda c, i: struct_at(c, _layout(layout_name), c.arg(i), show, out=True)


def _in(layout_name: str, show: Callable):
    return lambda c, i: struct_at(c, _layout(layout_name), c.arg(i), show)


# Where the kernel's own ctypes layouts live, imported when a trace first needs one.
LAYOUTS = {'stat': ('..sys.files', 'LinuxStat'), 'statx': ('..sys.fsmeta', 'Statx'),
           'sigaction': ('..proc.signal', 'KSigaction'), 'stack': ('..proc.signal', 'StackT'),
           'timeval': ('..sys.info', 'Timeval'), 'itimerval': ('..sys.itimer', 'ITimerVal'),
           'rlimit': ('..sys.limits', 'RlimitStruct'), 'epoll_event': ('..fs.epoll', 'EpollEvent'),
           'timespec': ('.render', 'Timespec'), 'winsize': ('.render', 'WinSize')}


def _layout(name: str):
    module, layout = LAYOUTS[name]
    return getattr(importlib.import_module(module, __package__), layout)


def _itimerval_text(t) -> str:
    return (f'{{it_interval={{tv_sec={t.interval_sec}, tv_usec={t.interval_usec}}}, '
            f'it_value={{tv_sec={t.value_sec}, tv_usec={t.value_usec}}}}}')


def _dirfd(c: Call, i: int) -> str:
    v = signed(c.arg(i), 32)
    return 'AT_FDCWD' if v == N.AT_FDCWD else str(v)


def _omode(c: Call, i: int) -> str | None:
    flags = c.arg(i - 1)
    if flags & N.O_CREAT or flags & N.O_TMPFILE == N.O_TMPFILE:
        return octal(c.arg(i))
    return None


def _outbuf(c: Call, i: int) -> str:
    return buffer_at(c.peek, c.arg(i), c.returned) if c.ok else pointer(c.arg(i))


def _outstr(c: Call, i: int) -> str:
    """getcwd's and readlink's answer (readlink's is not NUL-terminated: its length is the result)."""
    if not c.ok:
        return pointer(c.arg(i))
    if c.name == 'getcwd':
        return string_at(c.peek, c.arg(i), PATH_MAX)
    return buffer_at(c.peek, c.arg(i), c.returned, PATH_MAX)


def _outfds(c: Call, i: int) -> str:
    words = c.peek.exactly(c.arg(i), 8) if c.ok else None
    if words is None:
        return pointer(c.arg(i))
    return f'[{int.from_bytes(words[:4], "little", signed=True)}, {int.from_bytes(words[4:], "little", signed=True)}]'


def _outint(c: Call, i: int) -> str:
    v = c.peek.int32(c.arg(i)) if c.ok else None
    return pointer(c.arg(i)) if v is None else f'[{v}]'


def _wstatus(c: Call, i: int) -> str:
    v = c.peek.int32(c.arg(i)) if c.ok and c.returned > 0 else None
    return pointer(c.arg(i)) if v is None else wait_status_text(v & 0xFFFF_FFFF)


def _sigset(c: Call, i: int, out: bool = False) -> str:
    va = c.arg(i)
    data = c.peek.exactly(va, 8) if va and (c.ok or not out) else None
    return pointer(va) if data is None else sigset_text(int.from_bytes(data, 'little'))


def _timespecs(c: Call, i: int) -> str:
    va = c.arg(i)
    pair = [c.peek.struct(Timespec, va), c.peek.struct(Timespec, va + 16)] if va else [None]
    if None in pair:
        return pointer(va)
    return '[' + ', '.join(timespec_text(t) for t in pair) + ']'


def _fcntl_cmd(c: Call, i: int) -> str:
    return N.FCNTL.get(signed(c.arg(i), 32), str(signed(c.arg(i), 32)))


def _fcntl_arg(c: Call, i: int) -> str | None:
    kind = N.FCNTL_ARG.get(N.FCNTL.get(signed(c.arg(1), 32), ''))
    return None if kind is None else KINDS[kind](c, i)


def _ioctl_request(c: Call, i: int) -> str:
    return N.IOCTLS.get(c.arg(i) & 0xFFFF_FFFF, hex(c.arg(i) & 0xFFFF_FFFF))


IOCTL_INT_IN = {'TIOCSPGRP', 'FIONBIO', 'FIOASYNC'}
IOCTL_INT_OUT = {'TIOCGPGRP', 'FIONREAD', 'TIOCGSID', 'TIOCGPTN'}


def _ioctl_arg(c: Call, i: int) -> str:
    request = N.IOCTLS.get(c.arg(1) & 0xFFFF_FFFF)
    va = c.arg(i)
    if request in ('TIOCGWINSZ', 'TIOCSWINSZ'):
        show = lambda w: f'{{ws_row={w.ws_row}, ws_col={w.ws_col}, ws_xpixel={w.ws_xpixel}, ws_ypixel={w.ws_ypixel}}}'
        return struct_at(c, WinSize, va, show, out=request == 'TIOCGWINSZ')
    if request in IOCTL_INT_IN or (request in IOCTL_INT_OUT and c.ok):
        v = c.peek.int32(va)
        return pointer(va) if v is None else f'[{v}]'
    if request in ('FIOCLEX', 'FIONCLEX', 'TIOCNOTTY'):
        return None
    return pointer(va)


def _ipc_cmd(table):
    def show(c: Call, i: int) -> str:
        cmd = c.arg(i) & 0xFFFF_FFFF
        text = table.get(cmd & ~N.IPC_64, str(cmd & ~N.IPC_64))
        return text + ('|IPC_64' if cmd & N.IPC_64 else '')
    return show


def _ipc_flags(c: Call, i: int) -> str:
    flags = c.arg(i) & 0xFFFF_FFFF
    named = flags_text(flags & ~0o777, N.IPC_FLAGS, '')
    return (named + '|' if named else '') + f'{flags & 0o777:#o}'.replace('0o', '0')


def _statx_flags(c: Call, i: int) -> str:
    flags = c.arg(i) & 0xFFFF_FFFF
    rest = flags_text(flags, N.AT_FLAGS, '')
    sync = '' if flags & 0x6000 else N.AT_STATX_SYNC_AS_STAT
    return '|'.join(x for x in (sync, rest) if x) or '0'


def epoll_event_text(e) -> str:
    return f'{{events={flags_text(e.events, N.EPOLL_EVENTS)}, data={{u32={e.data & 0xFFFF_FFFF}, u64={e.data}}}}}'


def _epoll_events(c: Call, i: int) -> str:
    """The events epoll_wait returned: [{events=EPOLLIN, data={u32=3, u64=3}}]"""
    layout, va = _layout('epoll_event'), c.arg(i)
    n = min(c.returned, ARRAY_LIMIT) if c.ok else 0
    events = [c.peek.struct(layout, va + k * ctypes.sizeof(layout)) for k in range(n)]
    if not c.ok or None in events:
        return pointer(va)
    return '[' + ', '.join(epoll_event_text(e) for e in events) + (', ...' if c.returned > n else '') + ']'


def _uname(c: Call, va: int) -> str:
    field = 65                                     # struct utsname: six 65-byte strings
    data = c.peek.exactly(va, 2 * field) if c.ok else None
    if data is None:
        return pointer(va)
    sysname, nodename = (data[k:k + field].split(b'\0')[0] for k in (0, field))
    return f'{{sysname={quote(sysname)}, nodename={quote(nodename)}, ...}}'


# -- calls shown whole -------------------------------------------------------------------------
def _clone(c: Call) -> list[str]:
    """clone(child_stack=..., flags=CLONE_VM|...|SIGCHLD, parent_tid=[N], tls=..., child_tidptr=...)"""
    flags, stack, ptid, ctid, tls = (c.arg(i) for i in range(5))
    names = flags_text(flags & ~N.CSIGNAL & 0xFFFF_FFFF, N.CLONE_FLAGS, '')
    exit_signal = signal_name(flags & N.CSIGNAL) if flags & N.CSIGNAL else ''
    out = [f'child_stack={pointer(stack)}', f'flags={"|".join(x for x in (names, exit_signal) if x) or "0"}']
    if flags & N.CLONE_PARENT_SETTID:
        tid = c.peek.int32(ptid) if c.ok else None
        out.append(f'parent_tid={pointer(ptid) if tid is None else f"[{tid}]"}')
    if flags & N.CLONE_SETTLS:
        out.append(f'tls={pointer(tls)}')
    if flags & N.CLONE_CHILD_TID:
        out.append(f'child_tidptr={pointer(ctid)}')
    return out


def _clone3(c: Call) -> list[str]:
    from ..sys.process import CloneArgs
    va, size = c.arg(0), c.arg(1)
    a = c.peek.struct(CloneArgs, va) if size >= 64 else None
    if a is None:
        return [pointer(va), str(size)]
    fields = [f'flags={flags_text(a.flags, N.CLONE_FLAGS)}']
    fields += [f'{name}={pointer(getattr(a, name))}' for name in ('pidfd', 'child_tid', 'parent_tid')
               if getattr(a, name)]
    fields.append(f'exit_signal={signal_name(a.exit_signal) if a.exit_signal else 0}')
    fields += [f'{name}={pointer(getattr(a, name))}' for name in ('stack', 'stack_size', 'tls')
               if getattr(a, name)]
    return ['{' + ', '.join(fields) + '}', str(size)]


def futex_op_text(op: int) -> str:
    """FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME"""
    name = N.FUTEX_OPS.get(op & N.FUTEX_CMD_MASK, str(op & N.FUTEX_CMD_MASK))
    if op & N.FUTEX_PRIVATE_FLAG:
        name += '_PRIVATE'
    if op & N.FUTEX_CLOCK_REALTIME:
        name += '|FUTEX_CLOCK_REALTIME'
    rest = op & ~(N.FUTEX_CMD_MASK | N.FUTEX_PRIVATE_FLAG | N.FUTEX_CLOCK_REALTIME) & 0xFFFF_FFFF
    return name + (f'|{rest:#x}' if rest else '')


def _futex(c: Call) -> list[str]:
    """futex(uaddr, op, val[, timeout or val2[, uaddr2[, val3]]]): as many as the op uses."""
    op = c.arg(1) & 0xFFFF_FFFF
    uses = N.FUTEX_USES.get(N.FUTEX_OPS.get(op & N.FUTEX_CMD_MASK, ''), 'tuv')
    out = [pointer(c.arg(0)), futex_op_text(op), str(signed(c.arg(2), 32))]
    last = max(({'t': 3, 'n': 3, 'u': 4, 'v': 5}[u] for u in uses), default=2)
    if last >= 3:
        out.append(str(signed(c.arg(3), 32)) if 'n' in uses else KINDS['timespec'](c, 3))
    if last >= 4:
        out.append(pointer(c.arg(4)))
    if last >= 5:
        v = c.arg(5) & 0xFFFF_FFFF
        out.append('FUTEX_BITSET_MATCH_ANY' if v == N.FUTEX_BITSET_MATCH_ANY and 'BITSET' in out[1]
                   else hex(v) if v else '0')
    return out


# prctl's options and what each one's arguments are (the rest are not shown, as strace does).
PRCTL_ARGS = {'PR_SET_NAME': ('path',), 'PR_GET_NAME': ('ptr',), 'PR_SET_PDEATHSIG': ('signal',),
              'PR_GET_PDEATHSIG': ('ptr',), 'PR_SET_DUMPABLE': ('uint',), 'PR_GET_DUMPABLE': (),
              'PR_SET_CHILD_SUBREAPER': ('uint',), 'PR_GET_CHILD_SUBREAPER': ('ptr',),
              'PR_SET_NO_NEW_PRIVS': ('uint', 'uint', 'uint', 'uint'), 'PR_GET_NO_NEW_PRIVS': ()}


def _prctl(c: Call) -> list[str]:
    option = N.PRCTL.get(signed(c.arg(0), 32))
    kinds = PRCTL_ARGS.get(option, ('hex', 'hex', 'hex', 'hex'))
    return [KINDS['prctlop'](c, 0)] + [KINDS[kind](c, i + 1) for i, kind in enumerate(kinds)]


CALLS: dict[str, Callable[[Call], list[str]]] = {'clone': _clone, 'clone3': _clone3, 'futex': _futex,
                                                  'prctl': _prctl}


# -- results -----------------------------------------------------------------------------------
def _fcntl_note(c: Call) -> str:
    cmd = N.FCNTL.get(signed(c.arg(1), 32))
    if cmd == 'F_GETFD':
        return f' (flags {flags_text(c.returned, N.FD_FLAGS)})'
    if cmd == 'F_GETFL':
        return f' (flags {open_flags(c.returned)})'
    return ''


def _poll_note(c: Call) -> str:
    return f' ({pollfds_text(c, c.arg(0), c.arg(1), "revents")})' if c.returned > 0 else ' (Timeout)'


NOTES: dict[str, Callable[[Call], str]] = {'fcntl': _fcntl_note, 'poll': _poll_note, 'ppoll': _poll_note}
RESULT_HEX = {'fcntl': {'F_GETFD', 'F_GETFL'}}


def format_result(name: str, result: int | None, call: Call | None = None) -> str:
    """'3', '0x7f0000000000', '-1 ENOENT (No such file or directory)' or '?' (no return)."""
    if result is None:
        return '0' if name == 'execve' else '?'       # execve: the new program runs
    if is_error(result):
        return errno_text(signed(result))
    if name in POINTER_RESULTS:
        return hex(result & 0xFFFF_FFFF_FFFF_FFFF)
    text = str(signed(result))
    if call is not None and name in NOTES:
        try:
            if name == 'fcntl' and N.FCNTL.get(signed(call.arg(1), 32)) in RESULT_HEX['fcntl']:
                text = hex(signed(result))
            text += NOTES[name](call)
        except Exception:
            pass
    return text


def decode_args(kernel, pid: int, name: str, args: list[int], result: int | None) -> list[str]:
    """The arguments of a finished call as strace shows them; never raises."""
    call = Call(MemoryPeek(kernel, pid), name, list(args), result)
    return _decode(call)


def _decode(call: Call) -> list[str]:
    whole = CALLS.get(call.name)
    if whole is not None:
        try:
            return whole(call)
        except Exception:
            return [hex(a) for a in call.args]
    kinds = SIGNATURES.get(call.name)
    if kinds is None:
        return [hex(a) for a in call.args]
    out = []
    for i, kind in enumerate(kinds[:len(call.args)]):
        try:
            text = KINDS[kind](call, i)
        except Exception:
            text = hex(call.arg(i))
        if text is not None:
            out.append(text)
    return out


def format_call(kernel, pid: int, name: str, args: list[int], result: int | None) -> str:
    """'write(1, "hi\\n", 3) = 3'"""
    call = Call(MemoryPeek(kernel, pid), name, list(args), result)
    return f'{name}({", ".join(_decode(call))}) = {format_result(name, result, call)}'


KINDS: dict[str, Callable[[Call, int], str | None]] = {
    'fd': lambda c, i: str(signed(c.arg(i), 32)),
    'dirfd': _dirfd,
    'int': lambda c, i: str(signed(c.arg(i))),
    'int32': lambda c, i: str(signed(c.arg(i), 32)),
    'uint': lambda c, i: str(c.arg(i)),
    'hex': lambda c, i: hex(c.arg(i)) if c.arg(i) else '0',
    'ptr': lambda c, i: pointer(c.arg(i)),
    'octal': lambda c, i: octal(c.arg(i) & 0o7777),
    'modetype': lambda c, i: file_mode(c.arg(i) & 0xFFFF_FFFF),
    'path': lambda c, i: string_at(c.peek, c.arg(i), PATH_MAX),
    'argv': lambda c, i: string_array(c.peek, c.arg(i)),
    'envp': lambda c, i: env_summary(c.peek, c.arg(i)),
    'buf': lambda c, i: buffer_at(c.peek, c.arg(i), c.arg(i + 1)),
    'outbuf': _outbuf,
    'outstr': _outstr,
    'iov': lambda c, i: iov_text(c, c.arg(i), c.arg(i + 1), None),
    'outiov': lambda c, i: iov_text(c, c.arg(i), c.arg(i + 1), c.returned) if c.ok else pointer(c.arg(i)),
    'oflags': lambda c, i: open_flags(c.arg(i)),
    'omode': _omode,
    'cloexec': _flags(N.CLOEXEC_NONBLOCK),
    'fdflags': _flags(N.FD_FLAGS),
    'atflags': _flags(N.AT_FLAGS),
    'statxflags': _statx_flags,
    'statxmask': _flags([(0xFFF, 'STATX_ALL')] + N.STATX_MASK),
    'amode': _flags(N.ACCESS_MODES, 'F_OK'),
    'whence': _named(N.WHENCE),
    'renameflags': _flags(N.RENAME_FLAGS),
    'fallocflags': _flags(N.FALLOC_FLAGS),
    'flockop': _flags(N.FLOCK_OPS),
    'fcntlcmd': _fcntl_cmd,
    'fcntlarg': _fcntl_arg,
    'ioctl': _ioctl_request,
    'ioctlarg': _ioctl_arg,
    'prot': _flags(N.PROT_FLAGS, 'PROT_NONE'),
    'mapflags': lambda c, i: '|'.join(
        [N.MAP_TYPES.get(c.arg(i) & 3, hex(c.arg(i) & 3))] +
        ([flags_text(c.arg(i) & 0xFFFF_FFFF & ~3, N.MAP_FLAGS)] if c.arg(i) & 0xFFFF_FFFF & ~3 else [])),
    'mremapflags': _flags(N.MREMAP_FLAGS),
    'msyncflags': _flags(N.MSYNC_FLAGS),
    'madvice': _named(N.MADVICE),
    'arch': lambda c, i: N.ARCH_PRCTL.get(c.arg(i), hex(c.arg(i))),
    'prctlop': _named(N.PRCTL),
    'waitoptions': _flags(N.WAIT_OPTIONS),
    'idtype': _named(N.ID_TYPES),
    'priowhich': _named(N.PRIO_WHICH),
    'rusagewho': _named(N.RUSAGE_WHO),
    'rlimitres': _named(N.RLIMITS),
    'rlimit': _in('rlimit', lambda r: f'{{rlim_cur={rlim_text(r.rlim_cur)}, rlim_max={rlim_text(r.rlim_max)}}}'),
    'outrlimit': _out('rlimit', lambda r: f'{{rlim_cur={rlim_text(r.rlim_cur)}, rlim_max={rlim_text(r.rlim_max)}}}'),
    'grndflags': _flags(N.GRND_FLAGS),
    'signal': lambda c, i: signal_name(c.arg(i)) if c.arg(i) else '0',
    'sighow': _named(N.SIG_HOW),
    'sigset': _sigset,
    'outsigset': lambda c, i: _sigset(c, i, out=True),
    'sigaction': _in('sigaction', sigaction_text),
    'outsigaction': _out('sigaction', sigaction_text),
    'stack': _in('stack', stack_text),
    'outstack': _out('stack', stack_text),
    'itimerwhich': _named(N.ITIMERS),
    'itimerval': _in('itimerval', _itimerval_text),
    'outitimerval': _out('itimerval', _itimerval_text),
    'clock': _named(N.CLOCKS),
    'timerflags': _flags(N.TIMER_FLAGS),
    'timespec': _in('timespec', timespec_text),
    'outtimespec': _out('timespec', timespec_text),
    'timespecs': _timespecs,
    'timeval': _in('timeval', timeval_text),
    'outtimeval': _out('timeval', timeval_text),
    'outstat': _out('stat', stat_text),
    'outstatx': _out('statx', statx_text),
    'dirents': lambda c, i: dirents_text(c, c.arg(i)),
    'outfds': _outfds,
    'outint': _outint,
    'outwstatus': _wstatus,
    'pollfds': lambda c, i: pollfds_text(c, c.arg(i), c.arg(i + 1), 'events'),
    'epollflags': _flags(N.EPOLL_CREATE_FLAGS),
    'epollop': _named(N.EPOLL_CTL),
    'epollevent': _in('epoll_event', epoll_event_text),
    'outepollevents': _epoll_events,
    'efdflags': _flags(N.EFD_FLAGS),
    'outuname': lambda c, i: _uname(c, c.arg(i)),
    'ipckey': lambda c, i: 'IPC_PRIVATE' if c.arg(i) & 0xFFFF_FFFF == N.IPC_PRIVATE else hex(c.arg(i) & 0xFFFF_FFFF),
    'ipcflags': _ipc_flags,
    'shmflags': _flags(N.SHM_FLAGS),
    'msgflags': _flags(N.MSG_FLAGS),
    'shmcmd': _ipc_cmd(N.SHM_CMDS),
    'semcmd': _ipc_cmd(N.SEM_CMDS),
    'msgcmd': _ipc_cmd(N.MSG_CMDS),
}
