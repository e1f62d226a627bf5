"""`--strace`: every system call printed as it returns, the way strace(1) prints it.

  execve("build/userland/bin/hello", ["build/userland/bin/hello"], 0x7ffffffde8 /* 3 vars */) = 0
  openat(AT_FDCWD, "/etc/motd", O_RDONLY|O_CLOEXEC) = 3
  write(1, "hello\\n", 6) = 6
  mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7effff000
  open("/nope", O_RDONLY) = -1 ENOENT (No such file or directory)
  --- SIGINT {si_signo=SIGINT, si_code=SI_KERNEL} ---
  +++ exited with 0 +++

The kernel emits a 'syscall' event when a call finishes, synchronously, so the process's
memory can still be read here to show strings and structures (decode.py; a successful
execve has not switched images yet either).  Options narrow it down as strace's do: the
processes to show (`--strace=PID`) and the calls (`-e trace=open,read`, `-e trace=%file`).
The same decoding feeds the Chrome-trace writer (chrome.py).
"""

from typing import TextIO

from .decode import decode_args, format_call, format_result          # noqa: F401 (used by chrome.py)
from .names import SIGNALS                                             # noqa: F401 (used by chrome.py)
from .peek import MemoryPeek                                           # noqa: F401 (faultview, gdbstub)
from .render import (env_summary, quote, sigset_text, signal_name, signed, siginfo_text, string_array)
from .sysargs import call_classes


class FilterError(ValueError):
    """An -e expression that names no call strace would know."""


def parse_trace_filter(expr: str, known: set[str]) -> tuple[set[str], bool]:
    """-e trace=open,read / -e trace=%file,close / -e trace=!write / -e open:
    (the set of call names, True if the set is the calls to leave out)."""
    qualifier, _, value = expr.partition('=')
    if not value:
        qualifier, value = 'trace', expr
    if qualifier != 'trace':
        raise FilterError(f'{expr}: only trace=... is offered (strace\'s -e trace=NAME,...)')
    negate = value.startswith('!')
    value = value.removeprefix('!')
    if value in ('all', 'none'):
        return set(), (value == 'all') != negate
    classes = call_classes()
    chosen = set()
    for item in filter(None, value.split(',')):
        if item.startswith('%'):
            if item[1:] not in classes:
                raise FilterError(f'{expr}: no class {item} (try one of '
                                  f'{", ".join("%" + c for c in sorted(classes))})')
            chosen |= classes[item[1:]]
        elif item in known:
            chosen.add(item)
        else:
            raise FilterError(f'{expr}: no system call named {item!r}')
    return chosen, negate


def known_call_names() -> set[str]:
    from ..sys.names import LINUX_NAMES
    from ..sys.table import SYSCALLS
    return set(LINUX_NAMES.values()) | {entry.name for entry in SYSCALLS.values()}


def exit_text(status: int) -> str:
    if status & 0x7F:
        return f'+++ killed by {signal_name(status & 0x7F)} +++'
    return f'+++ exited with {(status >> 8) & 0xFF} +++'


class Strace:
    """A Tracer listener writing one strace-style line per system call to `stream`.

    pids: show only these processes (a pid also names its threads); calls and exclude:
    show only the calls in the set (or, with exclude, all but those); None shows all."""

    def __init__(self, kernel, stream: TextIO, pids: set[int] | None = None,
                 calls: set[str] | None = None, exclude: bool = False):
        self.kernel = kernel
        self.stream = stream
        self.pids = pids
        self.calls = calls
        self.exclude = exclude
        self._exited_in_call: set[int] = set()   # pids whose exit line is already written

    def wants_process(self, pid: int) -> bool:
        if self.pids is None or pid in self.pids:
            return True
        p = self.kernel.procs.get(pid)
        return p is not None and p.tgid in self.pids

    def wants_call(self, name: str) -> bool:
        return self.calls is None or (name in self.calls) != self.exclude

    def _prefix(self, pid: int) -> str:
        return f'[pid {pid}] ' if len(self.kernel.procs) > 1 else ''

    def _write(self, pid: int, text: str) -> None:
        self.stream.write(self._prefix(pid) + text + '\n')
        self.stream.flush()

    def show_first_exec(self) -> None:
        """The execve line strace prints first, for the processes the kernel started
        itself (the program of `ukern run`, init): read from their new stacks."""
        if not self.wants_call('execve'):
            return
        for p in sorted(self.kernel.procs.values(), key=lambda q: q.pid):
            if p.is_leader and self.wants_process(p.pid):
                self._write(p.pid, self._first_exec_line(p))

    def _first_exec_line(self, p) -> str:
        peek = MemoryPeek(self.kernel, p.pid)
        rsp = self.kernel.cpu.context_reg(p.ctx, 'rsp')
        argc = peek.u64s(rsp, 1)
        path = quote(p.argv[0]) if p.argv else '""'
        if argc is None:
            return f'execve({path}, ?, ?) = 0'
        argv, envp = rsp + 8, rsp + 8 * (argc[0] + 2)
        return f'execve({path}, {string_array(peek, argv)}, {env_summary(peek, envp)}) = 0'

    def __call__(self, event) -> None:
        try:
            if self.wants_process(event.pid):
                self._handle(event)
        except Exception as e:          # a tracer must never bring the kernel down
            self._write(event.pid, f'(strace: cannot show {event.kind} event: {e})')

    def _handle(self, event) -> None:
        a = event.args
        if event.kind == 'syscall':
            name = a['name']
            if event.pid in self._exited_in_call and name in ('exit', 'exit_group'):
                self._exited_in_call.discard(event.pid)
                return
            if not self.wants_call(name):
                return
            if name == 'rt_sigreturn' and a['result'] is None:
                self._write(event.pid, self._sigreturn_line(event.pid))
            else:
                self._write(event.pid, format_call(self.kernel, event.pid, name, a['args'], a['result']))
        elif event.kind == 'exit':
            p = self.kernel.procs.get(event.pid)
            call = getattr(p, 'syscall', ()) if p is not None else ()
            if call and call[1] in ('exit', 'exit_group') and not p.killed_by:
                # strace shows "exit_group(0) = ?" before "+++ exited with 0 +++"
                if self.wants_call(call[1]):
                    self._write(event.pid, f'{call[1]}({", ".join(str(signed(x, 32)) for x in call[2][:1])}) = ?')
                self._exited_in_call.add(event.pid)
            self._write(event.pid, exit_text(a.get('status', 0)))
        elif event.kind == 'signal':
            self._write(event.pid, f'--- {signal_name(a["signal"])} {self._siginfo(event)} ---')
        elif event.kind == 'kill':
            sig = a.get('signal', 0)
            report = a.get('report', '')
            if sig == 9 and not report:
                return                      # strace sees SIGKILL only as "+++ killed by SIGKILL +++"
            self._write(event.pid, f'--- {SIGNALS.get(sig, sig)} {{{report}}} ---' if report
                        else f'--- {SIGNALS.get(sig, sig)} ---')

    def _sigreturn_line(self, pid: int) -> str:
        """rt_sigreturn({mask=[]}) = -1 EINTR (...): the mask and rax the frame at rsp restores
        (read before the kernel loads them, as strace reads them at the call's entry)."""
        from ..proc.signal import UContext
        uc = None
        if self.kernel.current is not None and self.kernel.current.pid == pid:
            uc = MemoryPeek(self.kernel, pid).struct(UContext, self.kernel.cpu.reg('rsp'))
        if uc is None:
            return 'rt_sigreturn() = ?'
        return f'rt_sigreturn({{mask={sigset_text(uc.sigmask)}}}) = {format_result("rt_sigreturn", uc.mcontext.rax)}'

    def _siginfo(self, event) -> str:
        """The siginfo the handler is given, read from the frame just built."""
        from ..proc.signal import RtSigframe, SigInfo
        frame = event.args.get('frame')
        info = MemoryPeek(self.kernel, event.pid).struct(SigInfo, frame + RtSigframe.info.offset) \
            if frame else None
        name = signal_name(event.args['signal'])
        return siginfo_text(info) if info is not None else f'{{si_signo={name}}}'
