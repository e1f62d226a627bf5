"""Grading tests of the object-server lab (labs/objsrv/README.md).

The student's work is C: each test compiles labs/objsrv/student/objsrv.c (or, graded with
--reference, ukern's own userland/sbin/objsrv.c) with userland/build.py's flags, makes a
disk whose /sbin/objsrv is that binary (labs/objsrv/make.py; cached by content), boots --
the kernel starts it as the object server and opens the store through it, so a driver that
cannot run a command fails the boot -- and runs the real guest programs.  Every run is bounded in
virtual time (and wall time): a server that never answers shows as a FAIL naming the
object a process was still waiting for, not as a hang.
"""

import importlib.util
import struct
import time
from pathlib import Path

from gradelib import test, expect, expect_true, passed, boot, disk, scratch_dir, regression, Fail, ROOT
from kernel.obj.server import start_object_server

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location('ukern_lab_objsrv_make', HERE / 'make.py')
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)

TICK_NS = 5_000_000                 # the watchdog looks every 5 ms of virtual time


def _source() -> Path:
    """The objsrv.c being graded: the grader activated lab objsrv on a directory."""
    from kernel import labs
    which = labs._active or labs.active()        # (lab, directory, reference?)
    if which is None or which[0] != 'objsrv':
        return HERE / 'student' / 'objsrv.c'
    if which[2]:
        return make.REFERENCE
    return Path(which[1]) / 'objsrv.c'


def _master() -> Path:
    """The disk image carrying the server being graded (a FAIL if it does not compile)."""
    try:
        return make.build(_source())[1]
    except make.BuildError as e:
        first = next((l for l in e.output.splitlines() if 'error' in l), e.output.splitlines()[0])
        raise Fail('objsrv.c compiles (userland/build.py flags: -Wall -Werror)', 'no errors',
                   first, e.output) from None


def _image() -> Path:
    return disk(_master())


class _Run:
    """A booted kernel with the student's object server, and what the trace showed."""

    def __init__(self, disk: Path, **kw):
        from kernel.fs.mount import BootError
        try:
            self.kernel, self.out, self.log = boot(disk=disk, **kw)
        except BootError as e:
            raise Fail('boot: the object server probes its disk (IDENTIFY) and the kernel opens '
                       'the object store through it (READ upcalls)', 'a booted machine',
                       f'cannot boot: {e}') from None
        k = self.kernel
        self.link = k.object_link
        self.server = self.link.server
        self.queue_oid = {}                # id(WaitQueue of a load) -> its OID
        self.upcalls, self.loaded = [], []
        k.trace.subscribe(self._watch)
        self.listeners = []

    def _watch(self, e):
        if e.kind == 'object' and e.args.get('what') == 'upcall':
            message = e.args['message']
            self.upcalls.append(message)
            load = self.link.loads.get(message[1]) if message[0] == 1 else None
            if load is not None:
                self.queue_oid[id(load.waiters)] = message[1]
        elif e.kind == 'object' and e.args.get('what') == 'loaded':
            self.loaded.append(e.args['oid'])
        for f in self.listeners:
            f(e)

    @property
    def text(self) -> str:
        return bytes(self.out).decode(errors='replace')

    def spawn(self, path: str, *args: str):
        k = self.kernel
        return k.spawn(k.read_guest_file(path.encode()), [path.rsplit('/', 1)[-1].encode()] +
                       [a.encode() for a in args], [])

    def run(self, procs, limit_s: float, wall_s: float = 45.0) -> None:
        """kernel.run(), but stop with a FAIL if `procs` have not all exited after limit_s
        seconds of virtual time (or wall_s seconds of real time)."""
        def done():
            return all(p.state.value == 'zombie' for p in procs)

        stopped = _bounded(self.kernel, self.kernel.run, done, limit_s, wall_s)
        if stopped:
            self._stuck(procs, limit_s, stopped == 'wall')
        if not done():                        # (run returned: nothing could ever run again)
            self._stuck(procs, limit_s, False)

    def _stuck(self, procs, limit_s, wall):
        k = self.kernel
        left = [p for p in procs if p.state.value != 'zombie']
        p = left[0]
        queue = p.waiting_on
        oid = self.queue_oid.get(id(queue))
        if oid is not None:
            got = f'the process (pid {p.pid}) was still waiting for object {oid:#x}'
            if f'{oid:#x}' not in self.loaded:
                got += ' (the server never reported it LOADED with a frame)'
        elif queue is not None:
            got = f'the process (pid {p.pid}) was still waiting on {queue!r}'
        else:
            got = f'the process (pid {p.pid}) was still running'
        if not self.link.running:
            got += '; the object server had died'
        elif self.server.state.value == 'runnable' and self.server.pending is None:
            got += '; the object server was still running its own code (a loop?), not waiting'
        took = f'{k.clock.now / 1e9:.2f}s of virtual time' + (' (wall-clock limit)' if wall else '')
        detail = '\n'.join(self.text.splitlines()[-8:] + self.log[-4:])
        raise Fail(f'{len(procs) - len(left)} of {len(procs)} processes finished after {took}',
                   f'all exit within {limit_s}s', got, detail)

    def shutdown(self, limit_s: float = 0.5, wall_s: float = 30.0) -> None:
        """kernel.shutdown(): dirty objects home through the server; bounded the same way."""
        def done():
            return not self.link.stores and not self.link.endpoint.messages

        if _bounded(self.kernel, self.kernel.shutdown, done, limit_s, wall_s):
            raise Fail('shutdown: the server takes every dirty object home', 'no STORE pending',
                       f'{len(self.link.stores)} objects still waiting for STORED after '
                       f'{limit_s}s of virtual time', self.text)


class _TimeLimit(Exception):
    """A bounded kernel call went past its limit (raised from a clock event)."""


def _bounded(k, action, done, limit_s: float, wall_s: float) -> str | None:
    """Call action() (kernel.run or kernel.shutdown) with a watchdog on the virtual clock
    that stops it while done() is still false after limit_s seconds of virtual time or
    wall_s of real time.  Returns None if it finished, else 'virtual' or 'wall'."""
    deadline, started = k.clock.now + int(limit_s * 1e9), time.monotonic()

    def tick():
        if done():
            return
        if k.clock.now >= deadline or time.monotonic() - started > wall_s:
            raise _TimeLimit()
        k.clock.schedule_in(TICK_NS, tick)

    k.clock.schedule_in(TICK_NS, tick)
    try:
        action()
    except _TimeLimit:
        return 'wall' if time.monotonic() - started > wall_s else 'virtual'
    return None


class _Guest:
    """What gradelib.passed wants: console text and the wait status."""

    def __init__(self, run: _Run, proc):
        self.text, self.status, self.log = run.text, proc.exit_status, run.log


def _pinned(k) -> int:
    return sum(1 for n in k.frames.pins if n)


@test('objsrv: objmany 200 reads zeros, one upcall per object', points=20)
def _():
    r = _Run(_image())
    p = r.spawn('/tests/objmany', '200')
    r.run([p], limit_s=0.5)
    passed(_Guest(r, p), 'objmany')
    expect('object upcalls (two passes over 200 objects: each loaded once)', 200,
           r.kernel.vmstat['object_upcalls'], r.text)
    expect('objects the server reported LOADED', 200, len(r.loaded))


@test('objsrv: the server\'s frames are pinned while the disk DMAs into them', points=15)
def _():
    r = _Run(_image())
    k = r.kernel
    given, pinned_dma, before_loaded = set(), [], []
    dma_done, reported = set(), set()

    def watch(e):
        if e.kind == 'object' and e.args.get('what') == 'frame for I/O':
            given.add(e.args['frame'])
        elif e.kind == 'dma' and e.args['phase'] in ('issue', 'complete'):
            for f in e.args['frames']:
                if f in given and f not in reported:      # (later DMAs: STORE of the object)
                    pinned_dma.append((f, e.args['phase'], k.frames.pinned(int(f, 16))))
                    if e.args['phase'] == 'complete':
                        dma_done.add(f)
        elif e.kind == 'object' and e.args.get('what') == 'loaded':
            before_loaded.append((e.args['frame'], e.args['frame'] in given, e.args['frame'] in dma_done))
            reported.add(e.args['frame'])
    r.listeners.append(watch)
    p = r.spawn('/tests/objmany', '20')
    r.run([p], limit_s=0.5)
    passed(_Guest(r, p), 'objmany')
    expect('frames the server asked for (OBJSRV_FRAME_ALLOC, one per object)', 20, len(given))
    expect_true('DMA issues and completions into those frames before LOADED', len(pinned_dma) >= 40, '>= 40',
                len(pinned_dma))
    unpinned = [f'{f} at DMA {phase}' for f, phase, pinned in pinned_dma if not pinned]
    expect('frames not pinned while the disk DMAs into them', [], unpinned[:3])
    expect('LOADED reports', 20, len(before_loaded))
    wrong = [f for f, mine, dma in before_loaded if not (mine and dma)]
    expect('frames reported LOADED that were not the server\'s own, DMA\'d first', [], wrong[:3])


@test('objsrv: a counter in a page object counts 1, 2, 3 across three boots', points=25)
def _():
    disk = _image()
    outs = []
    for boot_no in (1, 2, 3):
        r = _Run(disk)
        p = r.spawn('/bin/objcount')
        r.run([p], limit_s=0.5)
        r.shutdown()
        outs.append(r.text)
        expect(f'object upcalls in boot {boot_no} (the counter page, once)', 1,
               r.kernel.vmstat['object_upcalls'], r.text)
    expect('objcount in three boots (LOADED reads it back, STORED took it home)',
           ['objcount: 1\n', 'objcount: 2\n', 'objcount: 3\n'], outs)


@test('objsrv: STORE takes dirty objects home: they are on the disk after shutdown', points=15)
def _():
    from kernel.obj.layout import ObjectKind
    from kernel.obj.store import ObjectStore, partition_device
    disk = _image()
    r = _Run(disk)
    p = r.spawn('/tests/objmany', '50')
    r.run([p], limit_s=0.5)
    passed(_Guest(r, p), 'objmany')
    r.shutdown()
    expect('objects written home through the server (STORED)', 50,
           r.kernel.vmstat['object_writebacks'])
    with partition_device(disk) as dev:
        store = ObjectStore.open(dev)
        pages = next(x for x in store.ranges if x.kind == ObjectKind.PAGE)
        values = sorted(struct.unpack_from('<q', store.read_object(oid))[0]
                        for oid in range(pages.start_oid, pages.end_oid) if store.is_allocated(oid))
    expect('the first word of each of the 50 objects on the disk', list(range(50)), values)


@test('objsrv: no frame stays pinned, no frame capability stays held', points=10)
def _():
    r = _Run(_image())
    k = r.kernel
    base = _pinned(k)                      # the server's own pages, pinned at start
    p = r.spawn('/tests/objmany', '200')
    r.run([p], limit_s=0.5)
    passed(_Guest(r, p), 'objmany')
    r.shutdown()
    expect('frames pinned beyond the server\'s own after objmany and shutdown', 0, _pinned(k) - base)
    expect('DMAs the controller refused (a PRD outside the frames lent to it)', [],
           k.store_controller.refused[:3])
    held = [i for i in range(8, len(r.server.caps)) if r.server.caps[i] is not None]
    expect('frame capabilities left in the server\'s c-list', [], held)
    expect('loads and stores the kernel still waits for', (0, 0), (len(r.link.loads), len(r.link.stores)))


@test('objsrv: six objmany at once in 8 MiB all finish (no livelock)', points=15)
def _():
    swap = scratch_dir('ukern-grade-objsrv-') / 'swap.img'
    r = _Run(_image(), mem=8 << 20, swap=swap)
    k = r.kernel
    low, server_faults = [k.frames.free_count], []

    def watch(e):
        low[0] = min(low[0], k.frames.free_count)
        if e.kind == 'fault' and e.pid == r.server.pid:
            server_faults.append(e)
    r.listeners.append(watch)
    procs = [r.spawn('/tests/objmany', '220') for _ in range(6)]
    r.run(procs, limit_s=1.5)
    expect('exit statuses of the six objmany', [0] * 6, [p.exit_status for p in procs], r.text)
    dropped = k.vmstat['object_pages_dropped']    # clean pages reclaim dropped are read again
    expect_true('object upcalls (6 x 220, and one per clean page reclaim dropped and read again)',
                6 * 220 <= k.vmstat['object_upcalls'] <= 6 * 220 + dropped,
                f'{6 * 220}..{6 * 220 + dropped}', k.vmstat['object_upcalls'])
    expect_true('free memory ran low (the test really squeezed memory)', low[0] < k.frames.total // 4,
                f'< {k.frames.total // 4} frames free', low[0])
    expect('page faults taken by the server itself', 0, len(server_faults))


def _start_server(k) -> None:
    start_object_server(k, k.read_guest_file(b'/sbin/objsrv'))


# The regression part boots from a disk whose /sbin/objsrv is the server being graded and
# starts it, as `ukern run --disk` does: the kernel's broad tests run beside it.
regression(master=_master, setup=_start_server)
