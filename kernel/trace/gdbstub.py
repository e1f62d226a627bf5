"""`--gdb PORT`: a GDB remote-protocol stub, so that real gdb can debug guest programs.

  ukern run --gdb 1234 build/userland/bin/gdbdemo &
  gdb build/userland/bin/gdbdemo -ex 'target remote :1234' -ex 'break main' -ex continue

The stub listens on 127.0.0.1 only.  The kernel calls it at five points (kernel.py):
before_slice(p) before each slice (here the stub blocks, serving gdb, while the machine is
stopped), bound_slice(p, count) as the slice starts (single steps, watchpoints),
slice_over() the moment the CPU returns, on_trap(p, trap) for an exception the kernel
would turn into a signal (gdb sees the signal first, as with ptrace), and
after_slice(p, trap).  The machine stops before the first instruction of pid 1.

Each process is one gdb "thread" (thread id = pid); memory is read and written through the
page tables of the selected process.  Breakpoints do not modify guest memory: each one is
a Unicorn code hook on its address that ends the slice before the instruction runs (text
pages may be shared between processes, and gdb reads memory back unchanged this way).

Packets (their framing, acknowledgements and Ctrl-C) travel through gdbwire.py; this file
says what they mean.
"""

from emu.cpu import Trap, Selector, USER_REGS, MAX_WATCHES
from ..mm.pagetable import PTE, frame_of
from ..mm.frames import PAGE_SIZE
from ..mm.uaccess import BadAddress
from ..proc.process import State
from ..trap import classify, Signal
from .strace import MemoryPeek
from .gdbwatch import AccessWatches, Kind
from .gdbwire import Disconnected, GdbWire, escape

PACKET_SIZE = 0x4000
MAX_WATCH_LEN = 8            # Z2 (write); Z3 and Z4 (read, access): gdbwatch.py
STEP_ON = 1 << 62            # single-step a whole slice (watchpoints, scans)

# GDB's own signal numbers (gdb/signals.def) differ from Linux's for a few signals.
GDB_SIGNALS = {Signal.SIGBUS: 10, Signal.SIGUSR1: 30, Signal.SIGUSR2: 31, Signal.SIGCHLD: 20,
               Signal.SIGCONT: 19, Signal.SIGSTOP: 17, Signal.SIGTSTP: 18}
SIGINT, SIGTRAP = 2, 5

# The register file described by TARGET_XML, in its order: (name, bits, USER_REGS index or None).
_GPRS = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp'] + [f'r{i}' for i in range(8, 16)]
REGISTERS = ([(n, 64, USER_REGS.index(n)) for n in _GPRS]
             + [('rip', 64, USER_REGS.index('rip')), ('eflags', 32, USER_REGS.index('rflags'))]
             + [(n, 32, None) for n in ('cs', 'ss', 'ds', 'es', 'fs', 'gs')]
             + [(f'st{i}', 80, None) for i in range(8)]
             + [(n, 32, None) for n in ('fctrl', 'fstat', 'ftag', 'fiseg', 'fioff', 'foseg', 'fooff', 'fop')]
             + [(f'xmm{i}', 128, None) for i in range(16)] + [('mxcsr', 32, None)]
             + [('fs_base', 64, USER_REGS.index('fs_base')), ('gs_base', 64, USER_REGS.index('gs_base'))])
_CONSTANT = {'cs': Selector.USER_CODE, 'ss': Selector.USER_DATA, 'fctrl': 0x37F, 'mxcsr': 0x1F80}


def _target_xml() -> str:
    def reg(name, bits, typ, extra=''):
        return f'<reg name="{name}" bitsize="{bits}" type="{typ}"{extra}/>'
    flags = ''.join(f'<field name="{n}" start="{b}" end="{b}"/>' for n, b in (
        ('CF', 0), ('', 1), ('PF', 2), ('AF', 4), ('ZF', 6), ('SF', 7), ('TF', 8), ('IF', 9),
        ('DF', 10), ('OF', 11), ('NT', 14), ('RF', 16), ('VM', 17), ('AC', 18), ('VIF', 19),
        ('VIP', 20), ('ID', 21)))
    core = [f'<flags id="i386_eflags" size="4">{flags}</flags>']
    for name, bits, _ in REGISTERS[:40]:
        if name in ('rbp', 'rsp'):
            core.append(reg(name, 64, 'data_ptr'))
        elif name == 'rip':
            core.append(reg(name, 64, 'code_ptr'))
        elif name == 'eflags':
            core.append(reg(name, 32, 'i386_eflags'))
        elif name.startswith('st'):
            core.append(reg(name, 80, 'i387_ext'))
        elif bits == 32 and name[0] == 'f':
            core.append(reg(name, 32, 'int', ' group="float"'))
        else:
            core.append(reg(name, bits, 'int64' if bits == 64 else 'int32'))
    sse = ['<vector id="v4f" type="ieee_single" count="4"/>',
           '<vector id="v2d" type="ieee_double" count="2"/>',
           '<vector id="v16i8" type="int8" count="16"/>',
           '<vector id="v8i16" type="int16" count="8"/>',
           '<vector id="v4i32" type="int32" count="4"/>',
           '<vector id="v2i64" type="int64" count="2"/>',
           '<union id="vec128"><field name="v4_float" type="v4f"/><field name="v2_double" type="v2d"/>'
           '<field name="v16_int8" type="v16i8"/><field name="v8_int16" type="v8i16"/>'
           '<field name="v4_int32" type="v4i32"/><field name="v2_int64" type="v2i64"/>'
           '<field name="uint128" type="uint128"/></union>']
    sse += [reg(f'xmm{i}', 128, 'vec128') for i in range(16)]
    sse.append(reg('mxcsr', 32, 'int', ' group="vector"'))
    seg = [reg('fs_base', 64, 'int'), reg('gs_base', 64, 'int')]
    return ('<?xml version="1.0"?><!DOCTYPE target SYSTEM "gdb-target.dtd">'
            '<target version="1.0"><architecture>i386:x86-64</architecture><osabi>GNU/Linux</osabi>'
            f'<feature name="org.gnu.gdb.i386.core">{"".join(core)}</feature>'
            f'<feature name="org.gnu.gdb.i386.sse">{"".join(sse)}</feature>'
            f'<feature name="org.gnu.gdb.i386.segments">{"".join(seg)}</feature></target>')


TARGET_XML = _target_xml()


def gdb_signal(sig: int) -> int:
    return GDB_SIGNALS.get(sig, sig)


class GdbStub:
    def __init__(self, kernel, port: int, host: str = '127.0.0.1', snapshot_every: int | None = None):
        """snapshot_every: instructions between snapshots for reverse execution
        (trace/reverse.py); None: no reverse execution."""
        self.kernel = kernel
        kernel.exact_clock = True            # every slice bounded by instructions: repeatable
        self.wire = GdbWire(host, port)
        self.port = self.wire.port
        self.detached = False
        self._target: int | None = None     # pid whose exit ends the session (the first one)
        self._g_thread: int | None = None   # thread chosen by Hg (None: the stopped one)
        self._stop_pid = 0
        self._last_stop = 'S05'
        self._stepping = False
        self._step_pid: int | None = None
        self._over: int | None = None        # breakpoint address being stepped over
        self._hit: int | None = None
        self._trap: tuple[int, Trap] | None = None   # an exception reported to gdb, pending
        self._interrupt = False
        self._hooks: dict[int, int] = {}     # breakpoint address -> Unicorn hook handle
        self._watches: list[tuple[int, int]] = []   # write watchpoints: (address, length)
        self.access = AccessWatches(kernel)         # read and access watchpoints (Z3, Z4)
        self._watch_aspace = None                   # the address space all watches are in
        self._slice = None                          # (task, position, budget) of the running slice
        self._carry: tuple | None = None            # (task, budget left) of a slice cut short
        self.holding = False                        # the last slice was cut short by a stop
        self.timeline = None
        if snapshot_every:
            from .reverse import Timeline
            self.timeline = Timeline(self, snapshot_every)

    # -- kernel hook points -----------------------------------------------------------------
    @property
    def stepping(self) -> bool:
        return self._stepping and not self.detached

    # A stop in the middle of a slice (a breakpoint, a step, a watchpoint, a re-execution's
    # target) must not change what the machine does next: the slice goes on afterwards with
    # the budget it had left (kernel.run asks held_task() first), and the scheduler does not
    # rotate.  So the schedule, and with it every position, is the same with or without gdb
    # stopping it, which reverse execution relies on.
    def bound_slice(self, p, count: int) -> tuple[int, int | None]:
        """The kernel's slice for p as the debugger bounds it: (budget, steps), steps
        being a limit on instructions begun, or None when the slice is not stepped."""
        if self._carry is not None and self._carry[0] is p:
            count = self._carry[1]
        self._carry = None
        self._slice = (p, self.kernel.clock.instructions, count)
        if self._watches:
            self.kernel.cpu.watch_in_slice(p.aspace is self._watch_aspace)
        if self.access.step_due(p):
            return count, 1             # the instruction that touched a hidden page, shown
        if not self.detached:
            self.access.cover(p, self._watch_aspace, self._watches)
        if self.timeline is not None and self.timeline.mission is not None:
            return self.timeline.bound_slice(count)
        if self.stepping:
            return count, 1
        return count, STEP_ON if self._watches and not self.detached else None

    def slice_over(self) -> None:
        """The CPU has returned: show the pages a read watch hid, before the kernel looks."""
        self.access.uncover()

    def held_task(self):
        """The task whose slice a stop cut short, to run on now; or None."""
        if self._carry is None:
            return None
        p = self._carry[0]
        if p.state is State.RUNNABLE and self.kernel.runqueue and self.kernel.runqueue[0] is p:
            return p
        self._carry = None
        return None

    def _note_slice_end(self, p, trap) -> None:
        task, began, count = self._slice or (None, 0, 0)
        retired = self.kernel.clock.instructions - began
        cut = (task is p and trap is None and not self.kernel.cpu.ended_by_kernel
               and p.state is State.RUNNABLE and retired < count and not self.detached)
        self.holding = cut
        self._carry = (p, count - retired) if cut else None

    def before_slice(self, p) -> bool:
        if self.detached:
            return True
        if self.timeline is not None and self.timeline.mission is not None:
            return p.state is State.RUNNABLE        # re-executing: gdb waits for the end
        if self.wire.conn is None:
            self.wire.accept()
            self._target = p.pid
            self._stop(p, SIGTRAP)
        else:
            self._poll()
            if self._interrupt:
                self._stop(p, SIGINT)
        if self.detached:
            return p.state is State.RUNNABLE
        if self._stepping and self._step_pid != p.pid:
            step = self.kernel.procs.get(self._step_pid)
            if step is not None and step.state is State.RUNNABLE and step in self.kernel.runqueue \
                    and self.kernel.runqueue[0] is p:
                self.kernel.runqueue.append(self.kernel.runqueue.pop(0))   # let the stepped one run
                return False
        if self._over is None and self._hooks and self._current_rip(p) in self._hooks:
            # resuming on a breakpoint: run that one instruction first, without stopping
            self._over = self._current_rip(p)
        if self.timeline is not None and p.state is State.RUNNABLE:
            self.timeline.maybe_snapshot(p)
        return p.state is State.RUNNABLE

    def on_trap(self, p, trap: Trap) -> bool:
        """An exception the kernel would turn into a signal: gdb sees it first."""
        if self.detached or self.wire.conn is None:
            return False
        self._trap = (p.pid, trap)
        return True

    def after_slice(self, p, trap) -> None:
        self._note_slice_end(p, trap)
        if self.detached or self.wire.conn is None:
            return
        watch = self.kernel.cpu.watch_hit() if self._watches else None
        access = (self.access.after_step(p, self.kernel.clock.instructions - self._slice[1])
                  if self.access.stepping else None)      # (a read watch's step: always closed)
        watch = f'watch:{self._watches[watch][0]:x};' if watch is not None else access
        if self.timeline is not None and self.timeline.mission is not None:
            self._hit = None
            if watch is not None and self.timeline.mission['op'] == 'scan':
                self.timeline.note_watch(watch)
            self.timeline.after_slice(p)
            return
        self._over = None
        if self._exit_check():
            return
        if self._trap is not None and self._trap[0] == p.pid:
            sig, _ = classify(self._trap[1])
            self._stop(p, gdb_signal(sig))
        elif self.access.pending is not None:
            return                       # a hidden page's fault: its step comes first
        elif self._hit is not None:
            self._hit = None
            self._stop(p, SIGTRAP, 'swbreak:;')
        elif watch is not None:
            self._stop(p, SIGTRAP, watch)
        elif self._stepping and p.pid == self._step_pid:
            self._stop(p, SIGTRAP)
        elif self._interrupt:
            self._stop(p, SIGINT)

    def close(self) -> None:
        if self.timeline is not None and self.timeline.mission is not None:
            self.timeline.abandon()              # the machine ended before the target
        self._detach()
        self.wire.close_listener()

    # -- stopping and resuming ----------------------------------------------------------------

    def _stop(self, p, sig: int, extra: str = '') -> None:
        """The machine stops: tell gdb (unless this is the first stop), then serve it."""
        self._end_running()
        self._stepping = False
        self._interrupt = False
        self._stop_pid = p.pid
        self._g_thread = None
        self._last_stop = f'T{sig:02x}thread:{p.pid:x};' + extra
        try:
            if self._target is not None and self.wire.last_sent:   # gdb awaits a stop reply
                self.wire.send(self._last_stop)
            self._serve()
        except (Disconnected, OSError):
            self._detach()

    def _resume(self, step: bool, signal: int | None) -> None:
        if self._trap is not None:
            pid, trap = self._trap
            self._trap = None
            p = self.kernel.procs.get(pid)
            if signal and p is not None and p.state is not State.ZOMBIE:
                self.kernel._unhandled_trap(p, trap)       # deliver it: the process dies
        self._stepping = step
        self._step_pid = self._stop_pid
        if self._exit_check():
            return
        self._begin_running()

    def _exit_check(self) -> bool:
        """The debugged process has ended: W (exit code) or X (signal), and detach."""
        p = self.kernel.procs.get(self._target)
        if p is None or p.state is not State.ZOMBIE:
            return False
        status = p.exit_status
        reply = f'X{gdb_signal(status & 0x7F):02x}' if status & 0x7F else f'W{(status >> 8) & 0xFF:02x}'
        self._end_running()
        try:
            self.wire.send(reply)
        except OSError:
            pass
        self._detach()
        return True

    def _detach(self) -> None:
        self._end_running()
        for h in self._hooks.values():
            self.kernel.cpu.remove_breakpoint(h)
        self._hooks.clear()
        self.access.clear()
        self._stepping = False
        self.detached = True
        self.wire.close()

    # -- Ctrl-C while running: the socket is polled between slices --------------------------
    # (with the exact clock every slice is bounded by instructions, even a lone process's)
    def _begin_running(self) -> None:
        self._running = True

    def _end_running(self) -> None:
        self._running = False

    def _poll(self) -> None:
        """Ctrl-C from gdb while the machine runs stops it at the next slice."""
        try:
            if self.wire.poll():
                self._interrupt = True
        except Disconnected:
            self._detach()

    # -- packets -------------------------------------------------------------------------------
    def _serve(self) -> None:
        """Answer packets until gdb resumes the machine."""
        while not self.detached:
            packet = self.wire.read_packet().decode('latin-1')
            reply = self._handle(packet)
            if reply is None:            # resumed (or gone): the stop reply comes later
                return
            self.wire.send(reply)

    def _handle(self, pkt: str) -> str | None:
        cmd = pkt[:1]
        if pkt.startswith('qSupported'):
            reverse = ';ReverseStep+;ReverseContinue+' if self.timeline is not None else ''
            return f'PacketSize={PACKET_SIZE:x};qXfer:features:read+;swbreak+' + reverse
        if pkt in ('bs', 'bc'):
            return self._reverse(pkt)
        if pkt.startswith('qXfer:features:read:target.xml:'):
            off, length = (int(x, 16) for x in pkt.rsplit(':', 1)[1].split(','))
            chunk = TARGET_XML.encode()[off:off + length]
            return (b'l' if off + length >= len(TARGET_XML) else b'm') + escape(chunk)
        if pkt == '?':
            return self._last_stop
        if pkt in ('qAttached',) or pkt.startswith('qAttached:'):
            return '1'
        if pkt == 'qC':
            return f'QC{self._stop_pid:x}'
        if pkt == 'qfThreadInfo':
            pids = [pid for pid, p in sorted(self.kernel.procs.items()) if p.state is not State.ZOMBIE]
            return 'm' + ','.join(f'{pid:x}' for pid in pids) if pids else 'l'
        if pkt == 'qsThreadInfo':
            return 'l'
        if pkt.startswith('qThreadExtraInfo,'):
            p = self.kernel.procs.get(int(pkt.split(',')[1], 16))
            return (f'{p.name} {p.state.value}' if p else 'gone').encode().hex()
        if pkt.startswith('qSymbol'):
            return 'OK'
        if cmd == 'H':
            tid = pkt[2:]
            if pkt[1] == 'g':
                self._g_thread = None if tid in ('0', '-1', '') else int(tid, 16)
            return 'OK'
        if cmd == 'T':
            p = self.kernel.procs.get(int(pkt[1:], 16))
            return 'OK' if p is not None and p.state is not State.ZOMBIE else 'E01'
        if cmd == 'g':
            return ''.join(self._reg_hex(self._thread(), i) for i in range(len(REGISTERS)))
        if cmd == 'G':
            return self._write_all_regs(bytes.fromhex(pkt[1:]))
        if cmd == 'p':
            n = int(pkt[1:], 16)
            return self._reg_hex(self._thread(), n) if n < len(REGISTERS) else 'E45'
        if cmd == 'P':
            n, value = pkt[1:].split('=')
            return self._write_reg(int(n, 16), bytes.fromhex(value))
        if cmd == 'm':
            addr, length = (int(x, 16) for x in pkt[1:].split(','))
            data = self._read_memory(self._thread(), addr, min(length, PACKET_SIZE // 2))
            return data.hex() if data else 'E14'
        if cmd == 'M':
            where, value = pkt[1:].split(':')
            addr = int(where.split(',')[0], 16)
            return 'OK' if self._write_memory(self._thread(), addr, bytes.fromhex(value)) else 'E14'
        if pkt[:3] in ('Z0,', 'z0,', 'Z1,', 'z1,'):       # software or hardware: both hooks
            addr = int(pkt.split(',')[1], 16)
            (self._add_breakpoint if cmd == 'Z' else self._remove_breakpoint)(addr)
            return 'OK'
        if pkt[:3] in ('Z2,', 'z2,'):
            addr, length = (int(x, 16) for x in pkt[3:].split(',')[:2])
            return (self._add_watch if cmd == 'Z' else self._remove_watch)(addr, length)
        if pkt[:3] in ('Z3,', 'z3,', 'Z4,', 'z4,'):
            addr, length = (int(x, 16) for x in pkt[3:].split(',')[:2])
            kind = Kind.READ if pkt[1] == '3' else Kind.ACCESS
            return self._access_watch(cmd == 'Z', kind, addr, length)
        if cmd in 'cC':
            sig = int(pkt[1:].split(';')[0], 16) if cmd == 'C' else None
            self._resume(False, sig)
            return None
        if cmd in 'sS':
            sig = int(pkt[1:].split(';')[0], 16) if cmd == 'S' else None
            self._resume(True, sig)
            return None
        if cmd == 'k' or pkt.startswith('vKill'):
            self._kill_all()
            if cmd == 'k':
                return None
            return 'OK'
        if cmd == 'D':
            self.wire.send('OK')
            self._detach()
            return None
        return ''                        # not supported: vCont?, X, qOffsets, vFile ...

    # -- the machine as gdb sees it ------------------------------------------------------------
    def _thread(self):
        pid = self._g_thread or self._stop_pid
        p = self.kernel.procs.get(pid) or self.kernel.procs.get(self._stop_pid)
        return p

    def _live(self, p) -> bool:
        return p is not None and p is self.kernel.current and p.state is not State.ZOMBIE

    def _regs(self, p) -> list[int]:
        return self.kernel.cpu.save_user_regs() if self._live(p) else list(p.regs)

    def _current_rip(self, p) -> int:
        return self.kernel.cpu.reg('rip') if self._live(p) else p.regs[USER_REGS.index('rip')]

    def _reg_value(self, p, n: int) -> int:
        name, bits, idx = REGISTERS[n]
        if idx is not None:
            return self._regs(p)[idx]
        if (name.startswith('xmm') or name == 'mxcsr') and self._live(p):
            return self.kernel.cpu.vector_reg(name)
        return int(_CONSTANT.get(name, 0))

    def _reg_hex(self, p, n: int) -> str:
        bits = REGISTERS[n][1]
        if p is None:
            return 'xx' * (bits // 8)
        value = self._reg_value(p, n) & ((1 << bits) - 1)
        return value.to_bytes(bits // 8, 'little').hex()

    def _write_reg(self, n: int, data: bytes) -> str:
        p = self._thread()
        if p is None or n >= len(REGISTERS):
            return 'E45'
        name, bits, idx = REGISTERS[n]
        if idx is None:
            return 'OK'                  # segment, x87 and SSE registers are not writable here
        value = int.from_bytes(data[:bits // 8], 'little')
        if self._live(p):
            self.kernel.cpu.set_reg(USER_REGS[idx], value)
        else:
            self.kernel.cpu.set_context_reg(p.ctx, USER_REGS[idx], value)
        return 'OK'

    def _write_all_regs(self, data: bytes) -> str:
        off = 0
        for n, (_, bits, _) in enumerate(REGISTERS):
            chunk = data[off:off + bits // 8]
            off += bits // 8
            if len(chunk) == bits // 8:
                self._write_reg(n, chunk)
        return 'OK'

    def _read_memory(self, p, addr: int, n: int) -> bytes:
        if p is None or p.state is State.ZOMBIE:
            return b''
        data = MemoryPeek(self.kernel, p.pid).read(addr, n) or b''
        if len(data) == n:
            return data
        try:                             # valid but not yet present: fault it in, as ptrace does
            if p.aspace.find(addr + len(data)) is not None:
                return data + self.kernel.user(p).read(addr + len(data), n - len(data))
        except BadAddress:
            pass
        return data

    def _write_memory(self, p, addr: int, data: bytes) -> bool:
        if p is None or p.state is State.ZOMBIE:
            return False
        user = self.kernel.user(p)
        try:
            user.write(addr, data)
        except BadAddress:
            # read-only text: write into the frame itself, as ptrace's POKETEXT does
            try:
                user.read(addr, len(data))
                mem = self.kernel.machine.memory
                for i, b in enumerate(data):
                    pte = p.aspace.pt.lookup(addr + i)
                    if not pte & PTE.P:
                        return False
                    mem.write(frame_of(pte) | ((addr + i) & (PAGE_SIZE - 1)), bytes((b,)))
            except BadAddress:
                return False
        self.kernel.cpu.flush_code_cache()
        return True

    def _add_breakpoint(self, addr: int) -> None:
        if addr in self._hooks:
            return
        self._hooks[addr] = self.kernel.cpu.add_breakpoint(addr, self._on_code)

    def _remove_breakpoint(self, addr: int) -> None:
        h = self._hooks.pop(addr, None)
        if h is not None:
            self.kernel.cpu.remove_breakpoint(h)

    def _on_code(self, addr: int) -> None:
        if self.timeline is not None and self.timeline.mission is not None:
            if self.timeline.mission['op'] == 'scan':
                self.timeline.note_breakpoint()
            return
        if addr == self._over:
            self._over = None            # the instruction we resume on: run it
            return
        if addr in self._hooks and self._hit is None:
            self._hit = addr
            self.kernel.cpu.stop_before_instruction(addr)    # ends the slice before it runs

    def _kill_all(self) -> None:
        for p in list(self.kernel.procs.values()):
            if p.state is not State.ZOMBIE:
                self.kernel.kill(p, Signal.SIGKILL)
        self._detach()

    # -- write watchpoints (Z2): the CPU compares the values while stepping ------------------
    def _add_watch(self, addr: int, length: int) -> str:
        p = self._thread()
        if p is None or not 1 <= length <= MAX_WATCH_LEN or len(self._watches) >= MAX_WATCHES:
            return 'E22'                 # gdb then says it cannot insert the watchpoint
        if not self._may_watch_in(p):
            return 'E22'                 # (one address space at a time)
        if (addr, length) not in self._watches:
            self._watches.append((addr, length))
        self._watch_aspace = p.aspace
        self._load_watches()
        return 'OK'

    def _remove_watch(self, addr: int, length: int) -> str:
        if (addr, length) in self._watches:
            self._watches.remove((addr, length))
        self._load_watches()
        return 'OK'

    def _may_watch_in(self, p) -> bool:
        """Can a watch be set in p's address space?  All watches share one at a time."""
        return not (self._watches or self.access.watches) or p.aspace is self._watch_aspace

    def _access_watch(self, insert: bool, kind: Kind, addr: int, length: int) -> str:
        """Z3/z3, Z4/z4: a read or access watchpoint in or out (gdbwatch.py hides its pages)."""
        p = self._thread()
        if not insert:
            self.access.remove(kind, addr, length)
        elif p is None or not self._may_watch_in(p) or not self.access.add(kind, addr, length):
            return 'E22'                 # (one address space at a time, four at most)
        else:
            self._watch_aspace = p.aspace
        return 'OK'

    def _load_watches(self) -> None:
        """Give the CPU the watched ranges with their values now."""
        owner = next((q for q in self.kernel.procs.values()
                      if q.aspace is self._watch_aspace and q.state is not State.ZOMBIE), None)
        values = []
        for addr, length in self._watches:
            data = MemoryPeek(self.kernel, owner.pid).read(addr, length) if owner else None
            values.append((addr, length, int.from_bytes(data, 'little') if data and len(data) == length else None))
        self.kernel.cpu.set_watches(values)

    # -- reverse execution (trace/reverse.py) ----------------------------------------------------
    def _reverse(self, pkt: str) -> str | None:
        """bs / bc.  None: a runner replies from the position it goes to; else the
        reply here (no reverse execution, or already at the beginning)."""
        if self.timeline is None:
            return ''
        went = self.timeline.reverse_step() if pkt == 'bs' else self.timeline.reverse_continue()
        if went:
            return None                   # (unreached: this process has handed over)
        return f'T05thread:{self._stop_pid:x};replaylog:begin;'

    def hooks_state(self) -> dict:
        owner = next((q.pid for q in self.kernel.procs.values() if q.aspace is self._watch_aspace), None)
        return {'breaks': sorted(self._hooks), 'watches': list(self._watches), 'watch_pid': owner,
                'access': self.access.state()}

    def state(self) -> dict:
        """What a runner needs to carry on the session: gdb's breakpoints and watchpoints,
        its selections, the packet gdb last got."""
        return {**self.hooks_state(), 'target': self._target, 'g_thread': self._g_thread,
                'last_sent': self.wire.last_sent}

    def forget_hooks(self) -> None:
        for h in self._hooks.values():
            self.kernel.cpu.remove_breakpoint(h)
        self._hooks.clear()
        self._watches = []
        self.kernel.cpu.set_watches([])
        self.access.clear()
        self._hit = self._over = None
        self._stepping = False

    def set_hooks(self, breaks, watches, watch_pid: int | None, access=()) -> None:
        for addr in breaks:
            self._add_breakpoint(addr)
        owner = self.kernel.procs.get(watch_pid) if watch_pid is not None else None
        self._watches = [tuple(w) for w in watches] if owner is not None else []
        self._watch_aspace = owner.aspace if owner is not None else None
        self.access.load(access if owner is not None else ())
        if self._watches:
            self._load_watches()

    def restore(self, state: dict) -> None:
        self.forget_hooks()
        self.set_hooks(state['breaks'], state['watches'], state['watch_pid'], state['access'])
        self._target, self.wire.last_sent = state['target'], state['last_sent']

    def stop_here(self, p, extra: str) -> None:
        """A runner has arrived: report the stop to gdb and serve it."""
        self._stop(p, SIGTRAP, extra)
        if self._over is None and self._hooks and self._current_rip(p) in self._hooks:
            self._over = self._current_rip(p)    # resuming on a breakpoint: run it first
