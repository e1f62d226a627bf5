"""The kernel: boot, the scheduler loop, and the two ways into the kernel from user mode.

One machine, one kernel, no kernel threads.  The loop delivers due events and interrupts,
picks a runnable task (a process's thread), runs it for a slice, and deals with what ended
the slice.  Inside a slice the CPU calls back into the kernel for every `syscall` and every
exception; a system call that finishes at once returns straight to the process without
ending the slice, one that must wait blocks the process (its handler is a generator,
resumed on wake-up).
"""

import dataclasses
import posixpath
import random
import sys
from collections import Counter
from typing import Callable

from emu.clock import NS_PER_INSTRUCTION
from emu.cpu import Trap, Vector
from emu.machine import (Machine, CONSOLE_BASE, IRQ_CONSOLE, TRAMPOLINE_VA, STORE_AHCI_BASE,
                         IRQ_STORE_AHCI)
from .errno import Errno
from .dev.console import ConsoleDriver
from .fs.file import FdTable, ConsoleFile, HostStreamFile, O_RDONLY, O_WRONLY
from .fs.mount import mount_boot_disk, mount_host, mount_namespace, find_swap, open_object_store, unmount
from .mm import fault
from .mm.frames import FrameAllocator, OutOfMemory
from .fs.fserror import FsError
from .mm.pagetable import PTE, index
from .mm.uaccess import UserMemory, BadAddress
from .mm.reclaim import Reclaimer
from .mm.aio import AioEngine
from .pagefaults import PageFaults
from .proc import futex, itimer, lifecycle
from .proc import restart, sched
from .proc import signal as psig
from .proc.process import Process, State
from .proc.resources import Usage
from .proc.wait import Sleep, run_boot
from .sys.table import SYSCALLS
from .sys.names import syscall_name
from .sys.time import TIME_MAX_NS
from .trace.events import Tracer
from . import check
from . import labs
from . import trap as traps

NO_RETURN = object()               # a system call result that leaves rax alone (exec, sigreturn)
DEFAULT_QUANTUM = 1_000_000        # instructions per slice when others wait: 1 ms of virtual
                                   # time, the order of a Linux time slice (and each slice costs
                                   # some 15 µs of host time to start and end)
INTERACTIVE_SLICE_MS = 50          # wall-clock bound on a slice while a person may press Ctrl-C
SYSCALL_COST_NS = 100              # modelled cost of entering and leaving the kernel
# For the syscall path: the results that are restart codes (-ERESTART*) as plain ints, and
# the states as module constants (looking a member up on an Enum class costs about 0.25 µs).
_RESTART_RESULTS_LOW, _RESTART_RESULTS_HIGH = -int(restart.RESTART_LAST), -int(restart.RESTART_FIRST)
_RUNNABLE, _ZOMBIE = State.RUNNABLE, State.ZOMBIE
PAGE_FAULT = int(Vector.PAGE_FAULT)    # a plain int: an enum member costs a call per fault


# What a system call may run into below the syscall layer, and what the caller then gets:
# a bad user pointer, a file-system error, no frame left, a failed disk transfer.
CALL_FAILURES = (BadAddress, FsError, OutOfMemory, OSError)


def failure_errno(failure: Exception) -> int:
    if isinstance(failure, BadAddress):
        return -Errno.EFAULT
    if isinstance(failure, FsError):
        return -failure.errno
    if isinstance(failure, OutOfMemory):
        return -Errno.ENOMEM
    return -Errno.EIO


class _Borrowed:
    """Stands in for a process when the kernel writes into an address space not yet run,
    or waits on a queue itself (it is never BLOCKED, so wake leaves it alone)."""
    pid = 0
    ctx = None
    state = None
    usage = Usage()                    # what its faults count goes nowhere

    def __init__(self, aspace):
        self.aspace = aspace


SERVER_PATIENCE_NS = 2_000_000_000     # serve_until: how long boot waits for the object server


class Kernel(PageFaults):
    NO_RETURN = NO_RETURN

    def __init__(self, machine: Machine, quantum: int = DEFAULT_QUANTUM, seed: int = 0,
                 log: Callable[[str], None] | None = None, console_is_tty: bool = False,
                 policy: str = 'clock', console_input_typed: bool | None = None,
                 error_sink: Callable[[bytes], None] | None = None):
        """console_is_tty: the console's output is a terminal; console_input_typed: its
        input is typed (a person or a script), so the line discipline edits it (default:
        the same as console_is_tty); error_sink: where the first program's descriptor 2
        writes, when that is not the console (None: the console, as 0 and 1)."""
        labs.activate_active()             # a course lab in progress swaps in the student's code
        self.machine = machine
        self.cpu = machine.cpu
        self.clock = machine.clock
        self.clock.limit = TIME_MAX_NS
        self.quantum = quantum
        # A Python exception out of the kernel while serving a process is a kernel bug: kill
        # that process with a report and keep the machine (and its disks) going.  The test
        # suite turns this off so that a bug fails the test that found it.
        self.contain_bugs = True
        self.bugs: list[str] = []
        self.random = random.Random(seed)
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.error_sink = error_sink
        self.trace = Tracer(self.clock)
        self.frames = FrameAllocator(machine.memory, machine.first_free_frame, machine.mem_size)
        self.kernel_pdpt = self._map_kernel_half()
        self.console = ConsoleDriver(machine.bus, CONSOLE_BASE, console_is_tty,
                                     console_input_typed)
        self.console.signal_group = self.signal_group
        self.console.take_host_input = self._take_console_input
        self.irq_handlers = {IRQ_CONSOLE: lambda: self.console.interrupt(self.wake)}
        self.procs: dict[int, Process] = {}     # tid -> task (a thread; a process is a group)
        self.futexes = futex.FutexTable(self.wake)
        self.runqueue: list[Process] = []
        self.min_vruntime = 0              # proc/sched.py by_nice: where a newcomer's virtual runtime starts
        self.current: Process | None = None
        self.next_pid = 1
        self._charged = 0                  # instructions of the running slice already on the clock
        self._warned: set[tuple[int, int]] = set()
        self._end_slice = False            # a system call asked the loop to take over
        self._flush_code = False
        self._last_fault: fault.FaultResult | None = None
        self.debugger = None               # trace/gdbstub.GdbStub when --gdb is given
        self.vmstat = Counter()            # the memory manager's counters (/proc/vmstat, --stats)
        self.idle_ns = 0                   # virtual time with nothing to run (/proc/uptime, /proc/stat)
        self.reclaim = Reclaimer(self, policy)
        self.aio = self.frames.aio = AioEngine(self)
        self.interactive = False           # a person types on the host terminal (ukern boot)
        self.host_input = machine.console  # input from outside, or trace/record.py's recorder or replayer
        self.exact_clock = False           # count every instruction, even when nothing else waits
        self.fault_around = True           # map a window of pages on sequential faults (mm/fault.py)
        self.huge_pages = True             # 2 MiB pages for large anonymous mappings (mm/huge.py)
        self.cpu.on_syscall = self._on_syscall
        self.cpu.on_trap = self._on_trap
        self.vfs = mount_namespace(self)    # /proc, /dev, /tmp over an empty root
        self.init_cwd = None               # where the first process starts (mount_host)
        self.objects = None                # the persistent object space (kernel/obj), if any
        self.disks = None                  # port -> Disk, once the controller is probed
        self.ahci_driver = None            # dev/ahci.AhciDriver, once probed
        self.check_books = False           # run --check: kernel/check.py at every context switch
        self.daemons: set[int] = set()     # servers that wait for requests forever (objsrv)
        self.init_ends_machine = False     # `boot`: when pid 1 exits, the rest are killed
        self.deadlocked = False            # run() ended with tasks blocked forever
        self.host_signals: list[int] = []  # from the host (Ctrl-C on a pipe): for the foreground job
        self.stop_requested = False        # the host wants run() to return now (a second Ctrl-C)
        self.looping = False               # run() is running: a system call may be on the stack
        # The object store's controller, driven from ring 3 (kernel/obj/devcap.py).
        self.store_controller = None
        self.object_link = None            # obj/server.ObjectServerLink, once objsrv runs
        if machine.store_ahci is not None:
            from .obj.devcap import StoreController
            self.store_controller = StoreController(
                machine.store_ahci, STORE_AHCI_BASE, IRQ_STORE_AHCI, frames=self.frames,
                populate=lambda p, start, end: run_boot(self, self.populate(p, start, end)),
                flush_tlb=self.flush_tlb, wake=self.wake, log=self.log, tracer=self.trace)
            self.irq_handlers[IRQ_STORE_AHCI] = self.store_controller.interrupt

    def mount_root(self) -> None:
        """Probe the disk controller, mount partition 1 of the boot disk at /, start the
        object server on the store's controller and open the object store through it
        (raises BootError if that is corrupt)."""
        mount_boot_disk(self)
        self.objects = self.frames.objects = open_object_store(self)

    def mount_host(self, root: str, cwd: str, writable: bool = False) -> None:
        """No disk: the host's tree under `root` at / (hostfs, read-only unless
        writable); the first process starts in the host directory `cwd`."""
        self.init_cwd = mount_host(self, root, cwd, writable)

    def serve_until(self, done: Callable[[], bool]) -> None:
        """Boot and shutdown (no system call in progress): run the processes there are --
        the object server -- until done(); BootError if nothing can make it true, or if
        it is not true after SERVER_PATIENCE_NS of virtual time (a server that spins)."""
        from .fs.mount import BootError
        if self.looping:
            raise RuntimeError('serve_until inside the loop')
        expired = []
        deadline = self.clock.schedule_in(SERVER_PATIENCE_NS, lambda: expired.append(True))
        self.looping = True
        try:
            while not done():
                self._deliver_events()
                if done():
                    break
                if expired:
                    raise BootError(f'the object server did not answer within '
                                    f'{SERVER_PATIENCE_NS // 1_000_000} ms')
                p = self._pick_contained()
                if p is None:
                    if not self._idle():
                        raise BootError('the object server stopped answering')
                    continue
                self._run_slice(p)
        finally:
            self.looping = False
            self.clock.cancel(deadline)

    def enable_swap(self) -> bool:
        """Swap on the boot disk's swap partition, or the disk attached for swap."""
        self.frames.swap = find_swap(self)
        return self.frames.swap is not None

    def read_guest_file(self, path: bytes) -> bytes:
        """At boot: the content of a file in the mounted file system."""
        return self.read_guest_program(path, executable=False)[0]

    def read_guest_program(self, path: bytes, executable: bool = True) -> tuple[bytes, bytes]:
        """At boot: (content, canonical path) of a program, found as the first process
        would find it (from its working directory)."""
        from .fs.vfs import Cwd
        return run_boot(self, self.vfs.read_file(path, self.init_cwd or Cwd(), executable))

    def shutdown(self) -> None:
        """Write back everything the file system holds (the machine may then be dropped).
        The object store gets its last checkpoint, written through the object server,
        which drains its queue before the machine stops (kernel/obj/checkpoint.py)."""
        if self.objects is not None:
            self.objects.shutdown()
        unmount(self, self.vfs)

    def _map_kernel_half(self) -> int:
        """The supervisor half shared by every address space: for now the machine's
        trampoline page, which user code can see but never touch (a #PF if it tries)."""
        pdpt, pd, pt = (self.frames.alloc() for _ in range(3))
        mem = self.machine.memory
        mem.write_u64(pdpt + index(TRAMPOLINE_VA, 1) * 8, pd | PTE.P | PTE.W)
        mem.write_u64(pd + index(TRAMPOLINE_VA, 2) * 8, pt | PTE.P | PTE.W)
        mem.write_u64(pt + index(TRAMPOLINE_VA, 3) * 8, 0x1000 | PTE.P)  # emu.machine.TRAMPOLINE_FRAME
        return pdpt

    def user(self, p: Process) -> UserMemory:
        return UserMemory(self, p)

    def write_into(self, aspace, va: int, data: bytes) -> None:
        """Copy into an address space that is not running yet (a new program's stack)."""
        UserMemory(self, _Borrowed(aspace)).write(va, data)

    # -- processes ----------------------------------------------------------------------
    def spawn(self, data: bytes, argv: list[bytes], envp: list[bytes], name: str | None = None,
              exe: bytes | None = None) -> Process:
        """Create a process running the executable `data` with the console as its
        descriptors 0-2 (raises elf.ExecError, lifecycle.ProcessLimit); `exe` is the
        guest path of the program, for /proc/PID/exe (argv[0] if not given)."""
        fds = FdTable()
        for fd, mode in ((0, O_RDONLY), (1, O_WRONLY), (2, O_WRONLY)):
            fds.put(fd, ConsoleFile(self.console, mode))
        if self.error_sink is not None:          # the host keeps stderr apart from stdout
            fds.put(2, HostStreamFile(self.error_sink))
        pname = name or (argv[0].rsplit(b'/', 1)[-1].decode(errors='replace') if argv else '?')
        path = argv[0].decode(errors='replace') if argv else pname
        p = lifecycle.create(self, data, argv, envp, fds, pname, path)
        if self.init_cwd is not None:
            p.cwd = dataclasses.replace(self.init_cwd)      # its own: chdir changes it in place
        if exe is None:                  # /proc/PID/exe is absolute (glibc insists)
            exe = posixpath.normpath(posixpath.join(p.cwd.path, argv[0] if argv else b''))
        p.exe = exe
        if self.objects is not None:
            p.caps = self.objects.initial_clist()
        if not self.console.foreground:
            self.console.foreground = p.pgid      # the first process owns the terminal
        return p

    def _take_console_input(self) -> None:
        """A console read or poll that will not wait found nothing: take what the host
        side has now (a file or pipe has its bytes at once; a person, what was typed)."""
        if self.host_input.poll_host_input():
            self.console.interrupt(self.wake)

    def signal_group(self, pgid: int, signal: int) -> None:
        """Ctrl-C and friends: a signal to every process of a process group."""
        for q in list(self.procs.values()):
            if q.pgid == pgid and q.is_leader:
                lifecycle.send(self, q, signal)

    def exit_process(self, p: Process, status: int) -> None:
        lifecycle.exit_process(self, p, status)

    def terminate(self, p: Process, signal: int, report: str = '') -> None:
        """Death by a signal (status = the signal number, as wait4 encodes it)."""
        if self.trace.enabled:
            self._emit('kill', p, signal=int(signal), report=report)
        if report:
            p.report = lifecycle.leader_of(self, p).report = report
            self.log(report)
        p.killed_by = signal
        self.exit_process(p, int(signal))

    def kill(self, p: Process, signal: traps.Signal, report: str = '') -> None:
        self.terminate(p, signal, report)

    def code_changed(self) -> None:
        """Frames that held code may be reused: translated code must not outlive them
        (the kernel writes frames behind the emulator's back, so it cannot notice)."""
        self._flush_code = True

    # -- blocking and waking ------------------------------------------------------------
    def wake(self, p: Process) -> None:
        if p.state is State.BLOCKED:
            p.state = State.RUNNABLE
            p.waiting_on = None
            self.runqueue.append(p)

    def wake_interrupted(self, p: Process) -> None:
        """A signal ended p's wait: its system call returns EINTR."""
        p.state = State.RUNNABLE
        self.runqueue.append(p)

    def sleep(self, p: Process, ns: int):
        """A generator for system calls that wait for virtual time to pass."""
        if ns > 0:
            until = self.clock.after(ns)
            while self.clock.now < until:
                yield Sleep(until)

    def yield_cpu(self, p: Process) -> None:
        self._end_slice = True

    def _block(self, p: Process, on) -> None:
        p.state = State.BLOCKED
        p.waiting_on = on
        if p in self.runqueue:
            self.runqueue.remove(p)
        if isinstance(on, Sleep):
            self.clock.schedule(on.until, lambda: self.wake(p) if p.waiting_on is on else None)
        elif hasattr(on, 'add'):             # a WaitQueue, or the like
            on.add(p)
        else:
            raise TypeError(f'a system call waited on {on!r}')

    def _step(self, p: Process, gen, value=None, interrupted: bool = False):
        """Run a blocking system call until it waits or returns.  Returns (done, result).
        `interrupted`: a signal ended the wait, and the call meets restart.Interrupted."""
        try:
            on = gen.throw(restart.Interrupted()) if interrupted else gen.send(value)
        except StopIteration as stop:
            return True, stop.value
        except restart.Interrupted:
            return True, restart.interrupted_result(p)
        except CALL_FAILURES as failure:
            return True, failure_errno(failure)
        p.pending = gen
        self._block(p, on)
        return False, None

    # -- entries from user mode -----------------------------------------------------------
    def _sync_clock(self) -> None:
        retired = self.cpu.retired()
        self.clock.retire(retired - self._charged)
        self._charged = retired

    def _on_syscall(self) -> bool:
        """Called by the CPU at `syscall`.  True: go on running this process.

        The hottest path in the kernel, so the common call takes a short cut: a known,
        non-blocking call with nobody tracing runs its handler and gets its result written
        right here.  The rest (blocking calls, tracing, unknown numbers) go the full way,
        through _full_syscall.  Both charge the call's cost to the clock first and end
        the same way: anything needing the loop (a signal to deliver, a restart, a new
        image, a yield) ends the slice, so it is seen before the process runs on."""
        p = self.current
        cpu = self.cpu
        if cpu.counting:
            self._sync_clock()
        self.clock.now += SYSCALL_COST_NS
        p.usage.stime += SYSCALL_COST_NS
        regs = cpu.syscall_args()             # rax, then the six argument registers
        nr = p.syscall_nr = regs[0]           # kept for restarting the call after a signal
        entry = SYSCALLS.get(nr)
        if entry is None or entry.blocking or self.trace.enabled:
            if not self._full_syscall(p, nr, list(regs[1:]), entry):
                return False
        else:
            try:
                result = entry.handler(self, p, *regs[1:entry.nargs + 1])
            except CALL_FAILURES as failure:
                result = failure_errno(failure)
            if result is not NO_RETURN and p.state is not _ZOMBIE:
                if _RESTART_RESULTS_LOW <= result <= _RESTART_RESULTS_HIGH:
                    result = restart.hold(p, result)
                cpu.set_return(result)
        if (p.state is not _RUNNABLE or self._end_slice or p.resume_action or p.restart
                or ((p.sigpending or p.group_signals.pending) and lifecycle.deliverable(p))):
            self._end_slice = False
            return False               # the loop finishes the return to user mode
        return True

    def _full_syscall(self, p: Process, nr: int, args: list[int], entry) -> bool:
        """A call off the short cut: traced, blocking or unknown.  False: it blocked."""
        if self.trace.enabled:                # what the syscall event will need at the end
            began = self.clock.now - SYSCALL_COST_NS       # (its cost is charged already)
            p.syscall = (nr, entry.name if entry else syscall_name(nr),
                         args[:entry.nargs] if entry else args, began)
        if entry is None:
            result = self._unknown_syscall(p, nr)
        else:
            try:
                result = entry.handler(self, p, *args[:entry.nargs])
            except CALL_FAILURES as failure:
                result = failure_errno(failure)
            if entry.blocking:
                done, result = self._step(p, result)
                if not done:
                    p.blocked_in = entry.name
                    return False
        self._syscall_done(p, result)
        return True

    def _syscall_done(self, p: Process, result) -> None:
        if self.trace.enabled and p.syscall:     # (empty if tracing began during this call)
            nr, name, args, start = p.syscall
            p.syscall = ()
            self._emit('syscall', p, nr=nr, name=name, args=args,
                       result=None if result is NO_RETURN else result, duration=self.clock.now - start)
        if p.state is not State.ZOMBIE and result is not NO_RETURN:
            if _RESTART_RESULTS_LOW <= result <= _RESTART_RESULTS_HIGH:
                result = restart.hold(p, result)
            self.cpu.set_return(result)

    def _unknown_syscall(self, p: Process, nr: int) -> int:
        if (p.tgid, nr) not in self._warned:
            self._warned.add((p.tgid, nr))
            self.log(f'ukern: pid {p.tgid} ({p.name}): system call {syscall_name(nr)} ({nr}) '
                     f'is not implemented: ENOSYS')
        return -Errno.ENOSYS

    def _wait_here(self, queue) -> None:
        token = _Borrowed(None)
        queue.add(token)
        self.run_until(lambda: token not in queue.waiters)

    def _on_trap(self, trap: Trap) -> bool:
        """Called by the CPU at an exception.  True: retry the instruction."""
        p = self.current
        if self.cpu.counting:                # (an uncounted slice has nothing to charge)
            self._sync_clock()
        if trap.vector == PAGE_FAULT:
            result = self.page_fault(p, trap.cr2, trap.error)
            if result.action is fault.Action.WAIT:
                p.blocked_in = 'page fault'
                self._block(p, result.queue)     # the instruction runs again once woken
                return False
            return result.action is not fault.Action.KILL
        return False

    def flush_tlb_of(self, aspace) -> None:
        if self.current is not None and self.current.aspace is aspace:
            self.cpu.flush_tlb()

    def flush_tlb(self, p: Process) -> None:
        if self.current is not None and p.aspace is self.current.aspace:   # p, or a thread of p
            self.cpu.flush_tlb()

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> None:
        """Run until no process can ever run again (or the host asks to stop)."""
        self.looping = True
        try:
            self._loop()
        finally:
            self.looping = False

    def _loop(self) -> None:
        while not self.stop_requested:
            p = self.debugger.held_task() if self.debugger is not None else None
            if p is None:
                self._deliver_events()
                if self.stop_requested:    # asked by an event just delivered: run nobody
                    return
                self.reclaim.balance()
                p = self._pick_contained()
            if p is None:
                if not self._idle():
                    return
                continue
            if self.debugger is not None and not self.debugger.before_slice(p):
                continue
            try:
                self._run_slice(p)
            except Exception as bug:
                self._contain(bug)

    def _pick_contained(self) -> Process | None:
        try:
            return self._pick()
        except Exception as bug:
            self._contain(bug)
            return self._pick_contained()

    def _contain(self, bug: Exception) -> None:
        """A kernel bug surfaced while serving the current process: that process dies with
        a report naming the bug; the others, and the file systems, carry on."""
        p = self.current
        if labs.on_kernel_bug is not None:     # `ukern lab run --pdb`: look before it goes
            labs.on_kernel_bug(self, bug)
        if not self.contain_bugs or p is None or isinstance(bug, check.InvariantError):
            raise bug
        import traceback                       # (here: only a kernel bug needs it)
        frame = traceback.extract_tb(bug.__traceback__)[-1]
        report = (f'ukern: kernel bug while serving pid {p.tgid} ({p.name}): {type(bug).__name__}: '
                  f'{bug} ({frame.filename.rsplit("/kernel/", 1)[-1]}:{frame.lineno}); the process is killed')
        self.bugs.append(report)
        try:
            self.terminate(p, traps.Signal.SIGKILL, report)
        except Exception:
            self.log(report)                   # its books are beyond repair: just never run it again
            lifecycle.bury_thread(self, p)

    def run_until(self, done: Callable[[], bool]) -> None:
        """Boot-time waiting (no process runs yet): let virtual time pass, delivering
        device events, until `done()` (e.g. a probe's IDENTIFY has completed)."""
        while not done():
            self._deliver_events()
            if done():
                return
            t = self.clock.next_event()
            if t is None:
                raise RuntimeError('waiting for an event that can never come')
            self.clock.advance_to(t)

    def _deliver_events(self) -> None:
        if self.host_signals:
            self._deliver_host_signals()
        self.clock.fire_due()
        for line in sorted(self.machine.bus.pending_irqs):
            handler = self.irq_handlers.get(line)
            if handler:
                handler()

    def host_signal(self, signal: int) -> None:
        """The host sends `signal` to the machine's foreground job (kernel/hostint.py:
        ukern's own SIGINT).  Safe from a signal handler: it only queues the signal."""
        self.host_signals.append(signal)

    def _deliver_host_signals(self) -> None:
        while self.host_signals:
            self.signal_group(self.console.foreground, self.host_signals.pop(0))

    def _pick(self) -> Process | None:
        while self.runqueue:
            p = self.runqueue[0]
            if self.check_books and self.current is not p:
                check.check(self)                     # run --check: at every context switch
            interrupted, p.interrupted = p.interrupted, False    # a signal cut its wait short
            if p.pending is None:
                return p                              # (a fault's wait: the access is retried)
            gen, p.pending = p.pending, None          # a system call woken up: resume it
            self._switch_to(p)
            done, result = self._step(p, gen, interrupted=interrupted)
            if done:
                self._syscall_done(p, result)
                return p
        return None

    def _idle(self) -> bool:
        """Nobody can run: jump the clock to the next event, or wait for console input.
        Input the host side already has is taken before time jumps to a poll's deadline."""
        waiting_for_input = bool(self.console.readers.waiters)
        if waiting_for_input and self.host_input.poll_host_input():
            return True
        t = self.clock.next_event()
        if t is not None:
            self.idle_ns += max(0, t - self.clock.now)
            self.clock.advance_to(t)
            return True
        if waiting_for_input and self.host_input.wait_for_host_input():
            return True
        self._check_deadlock()
        return False

    def _check_deadlock(self) -> None:
        """Nothing can ever run again: if a task (other than a server waiting for
        requests) is still blocked or stopped, the machine is deadlocked; say so."""
        stuck = [t for t in self.procs.values()
                 if t.state is not State.ZOMBIE and t.pid not in self.daemons]
        if not stuck or self.deadlocked:          # (said once: shutdown runs the loop again)
            return
        self.deadlocked = True
        where = ', '.join(f'pid {t.tgid} ({t.name}){"" if t.is_leader else f" thread {t.pid}"} '
                          f'in {self._waiting_in(t)}' for t in stuck)
        self.log(f'ukern: deadlock: every process is blocked: {where}')

    @staticmethod
    def _waiting_in(t: Process) -> str:
        if t.state is State.STOPPED:
            return 'stopped'
        return f'{t.blocked_in}()' if t.blocked_in else str(getattr(t.waiting_on, 'name', 'wait'))

    def _switch_to(self, p: Process) -> None:
        if self.current is p:
            return
        if self.current is not None and self.current.state is not State.ZOMBIE:
            self.cpu.save_context(self.current.ctx)
        self.cpu.load_context(p.ctx, p.aspace.pt.root)
        if self.trace.enabled:
            self._emit('switch', p, prev=self.current.pid if self.current else 0)
        self.current = p

    def _return_to_user(self, p: Process) -> None:
        """What must happen before p runs again: a new image (exec), registers put back
        (sigreturn), signal handlers to start or default actions to take; a thread of a
        stopped group stops instead."""
        if lifecycle.stop_if_group_stopped(self, p):
            return
        if p.resume_action is not None:
            action, p.resume_action = p.resume_action, None
            action()
        if lifecycle.has_pending(p) or p.saved_sigmask is not None:
            lifecycle.deliver(self, p)
        if (p.restart or p.saved_sigmask is not None) and p.state is State.RUNNABLE:
            restart.without_handler(self, p)      # no handler ran: the interrupted call restarts
        if self._flush_code:
            self._flush_code = False
            self.cpu.flush_code_cache()

    def _run_slice(self, p: Process) -> None:
        self._switch_to(p)
        self._return_to_user(p)
        if p.state is not State.RUNNABLE:
            return
        count, steps = self._slice_length(p), None
        if self.debugger is not None:          # single steps, watchpoints, an exact end
            count, steps = self.debugger.bound_slice(p, count)
        self._charged = 0
        timeout = INTERACTIVE_SLICE_MS if self.interactive and not count else 0
        began, kernel_time = self.clock.now, p.usage.stime
        try:
            trap, retired = self.cpu.run(self.cpu.reg('rip'), count, timeout, steps=steps)
        finally:
            if self.debugger is not None:
                self.debugger.slice_over()     # (pages a read watchpoint hid are shown again)
        self.clock.retire(retired - self._charged)
        self._charged = 0
        if retired and p.reclaimed_for:
            p.reclaimed_for.clear()            # it moved on: no thrashing (pagefaults.py)
        # the slice's time, less what its system calls and faults took, was user time
        p.usage.utime += max(0, self.clock.now - began - (p.usage.stime - kernel_time))
        if p.itimers.virtual.expires or p.itimers.prof.expires:
            itimer.charge(self, p)
        if trap is not None and p.state is State.RUNNABLE:
            if self.debugger is None or not self.debugger.on_trap(p, trap):
                self._unhandled_trap(p, trap)
        if self.debugger is not None:
            self.debugger.after_slice(p, trap)
        held = self.debugger is not None and self.debugger.holding    # cut short: goes on next
        if self.interactive and not held:
            self.host_input.poll_host_input()
        if not held:
            sched.after_slice(self, p, self.clock.now - began)    # who runs next (proc/sched.py)

    def _slice_length(self, p: Process) -> int:
        """Count instructions only when something depends on it: another runnable process,
        a timed event, or a timer on the process's own CPU time.  (A counted slice calls the
        CPU's block counter once per translated block, which slows the tightest loops about
        twofold; an uncounted one runs at full speed.)  A counted slice may run on to the end
        of the translated block it is in, so it ends up to a few hundred instructions after
        `count`, and a timed event fires that much after its time (all of it deterministic)."""
        count = self._slice_length_by_clock()
        budget = itimer.slice_budget(p)
        if budget is None:
            return count
        # ITIMER_VIRTUAL/PROF armed: the slice is counted and ends when the timer is due
        return max(1, min(count or self.quantum, budget // NS_PER_INSTRUCTION))

    def _slice_length_by_clock(self) -> int:
        t = self.clock.next_event()
        if self.exact_clock and t is None:
            return self.quantum
        if len(self.runqueue) <= 1 and t is None:
            return 0
        if t is None:
            return self.quantum
        return max(1, min(self.quantum, t - self.clock.now))

    def _unhandled_trap(self, p: Process, trap: Trap) -> None:
        """A fault the kernel could not fix: the process's handler for the signal runs,
        or, with none (or the signal blocked), the process dies with a report."""
        if trap.vector == Vector.PAGE_FAULT and self._last_fault is not None:
            signal, cause = traps.Signal(self._last_fault.signal), self._last_fault.reason
        else:
            signal, cause = traps.classify(trap)
        act = lifecycle.action_of(p, signal)
        if act.handler not in (psig.SIG_DFL, psig.SIG_IGN) and not p.sigmask & psig.bit(signal):
            addr = trap.cr2 if trap.vector == Vector.PAGE_FAULT else trap.rip
            code = psig.SEGV_ACCERR if trap.error & 1 else psig.SEGV_MAPERR
            lifecycle.send_thread(self, p, signal, psig.PendingSignal(signal, code, addr))
            return
        rip = traps.instruction_address(trap)
        code = self.user(p).read_for_report(rip, 15)
        thread = None if p.is_leader and len(lifecycle.threads_of(self, p)) == 1 else p.pid
        self.terminate(p, signal, traps.report(p.tgid, p.name, signal, cause, rip, code, thread))

    def _emit(self, kind: str, p: Process | None, **args) -> None:
        self.trace.note(kind, p.pid if p else 0, **args)
