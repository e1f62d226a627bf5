"""Reverse execution for the gdb stub: snapshots of the whole ukern process, and exact
re-execution from the nearest one.

A run under --gdb is deterministic: with the exact clock every slice is bounded by
retired instructions, so the machine's state is a function of its *position*, the number
of instructions retired since boot (kernel.clock.instructions).  To go back to position N
the stub re-executes from a snapshot taken before N, and stops exactly at N.

A snapshot is the host process itself: at a slice boundary, every `every` instructions,
the present process calls os.fork().  The child is a frozen copy of everything (the
CPU, guest RAM, devices, the kernel with its blocked system calls, which are Python
generators and could not be pickled), shared copy-on-write with its parent by the host
kernel; it sleeps on a socket.  Asked for a position, it forks again and the copy of the
copy runs on:

  goto  -> a *runner*: re-executes to the target (counted slices, the last MARGIN
           instructions single-stepped so that it stops exactly there), then takes over
           the gdb connection and replies to gdb; the process that was the present ends.
  scan  -> a *scanner*: re-executes single-stepping up to a limit, noting every
           breakpoint and watchpoint hit with its position, sends the list back and ends.

reverse-stepi is goto(position - 1); reverse-continue scans backwards from the nearest
snapshot to the one before, until a hit is found, and goes to the last hit (gdb builds
reverse-step, -next and -finish out of these two and its own breakpoints).

The first ukern process (the *root*) is the one the user started: when it hands over it
stays, asleep, until the last runner ends the session and tells it the exit status
(session_ended, from cli.main), so that a shell or `make gdb` waiting for it sees the end.
"""

import atexit
import os
import pickle
import select
import signal
import socket
import struct
import sys
import warnings

from .options import DEFAULT_EVERY

MARGIN = 1024               # a translated block has at most 512 instructions
MAX_SNAPSHOTS = 64          # beyond this, the one whose loss leaves the smallest gap goes
_LENGTH = struct.Struct('<I')

_session = None             # this process's Timeline, once it has one


def session_ended(status: int) -> int:
    """The command is over (cli.main): a runner that took over tells the sleeping root."""
    if _session is not None:
        _session.end(status)
    return status


class Snapshot:
    def __init__(self, pos: int, pid: int, sock: socket.socket):
        self.pos = pos          # the position it was taken at
        self.pid = pid
        self.sock = sock        # the present's end of its socket


def _send(sock: socket.socket, message) -> None:
    data = pickle.dumps(message)
    sock.sendall(_LENGTH.pack(len(data)) + data)


def _recv(sock: socket.socket):
    """A message, or None at end of file."""
    head = _recv_exactly(sock, _LENGTH.size)
    if head is None:
        return None
    return pickle.loads(_recv_exactly(sock, _LENGTH.unpack(head)[0]) or b'')


def _recv_exactly(sock: socket.socket, n: int) -> bytes | None:
    data = b''
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _fork() -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    with warnings.catch_warnings():           # (a helper thread, if any, is not needed there)
        warnings.simplefilter('ignore', DeprecationWarning)
        return os.fork()


class Timeline:
    """The snapshots of one debugging session, and this process's part in it: the
    present (mission None), a runner on its way to a position, or a scanner."""

    def __init__(self, stub, every: int = DEFAULT_EVERY):
        global _session
        self.stub = stub
        self.kernel = stub.kernel
        self.every = every
        self.snapshots: list[Snapshot] = []
        self.root = os.getpid()
        self.status_r, self.status_w = os.pipe()
        self.mission: dict | None = None
        self.hits: list[tuple[int, str]] = []
        self.ended = False
        self.ending: list[int] = []              # snapshots told to quit, to be waited for
        atexit.register(self._exit_anyway)
        _session = self

    # -- positions ------------------------------------------------------------------------
    def position(self) -> int:
        """Instructions retired since boot (between slices)."""
        return self.kernel.clock.instructions

    def position_in_slice(self) -> int:
        """The same from a hook inside a single-stepped slice, counting the instruction
        about to run as begun."""
        k = self.kernel
        return k.clock.instructions - k._charged + k.cpu.stepped()

    @property
    def beginning(self) -> int:
        return self.snapshots[0].pos if self.snapshots else 0

    # -- the kernel's slices while re-executing -----------------------------------------------
    def bound_slice(self, count: int) -> tuple[int, int | None]:
        """(budget, steps) of a slice on the way: a scanner steps every instruction and a
        runner only its last MARGIN, both stopping exactly at their target.  (Cutting a
        slice short changes nothing: the stub carries the rest of its budget over.)"""
        left = max(1, self.mission['until'] - self.position())
        if self.mission['op'] == 'scan':
            return count, left
        if left > MARGIN:
            return min(count, left - MARGIN), None
        return count, left

    def after_slice(self, p) -> None:
        """A runner or scanner: is it there yet?"""
        pos = self.position()
        if pos < self.mission['until']:
            return
        if self.mission['op'] == 'scan':
            self._report_scan()
        if pos > self.mission['until']:     # (a bug: the machine did not repeat itself)
            self.kernel.log(f'ukern: gdb: re-execution went past position {self.mission["until"]} '
                            f'(to {pos}): the run is not repeatable here')
        self._arrive(p)

    def abandon(self) -> None:
        """The machine ended before a runner or scanner got there."""
        if self.mission['op'] == 'scan':
            self._report_scan()
        os._exit(0)

    # -- snapshots ------------------------------------------------------------------------------
    def maybe_snapshot(self, p) -> None:
        """Before a slice of p: take a snapshot if the last one is `every` instructions old."""
        if self.mission is not None:
            return
        self._reap()
        pos = self.position()
        if self.snapshots and pos < self.snapshots[-1].pos + self.every:
            return
        present, frozen = socket.socketpair()
        pid = _fork()
        if pid:
            frozen.close()
            self.snapshots.append(Snapshot(pos, pid, present))
            self._thin()
            return
        me = Snapshot(pos, os.getpid(), present)
        self.snapshots.append(me)
        self._sleep_as_snapshot(me, frozen)
        self._begin_mission(p)      # (only in a runner or scanner forked from the snapshot)

    def _thin(self) -> None:
        """Keep the number of snapshots bounded: a long run keeps them ever sparser in its
        past (the first, where reverse execution ends, always stays)."""
        while len(self.snapshots) > MAX_SNAPSHOTS:
            s = self.snapshots
            i = min(range(1, len(s) - 1), key=lambda i: s[i + 1].pos - s[i - 1].pos)
            self._quit(s[i])
            self.ending.append(s.pop(i).pid)

    def _reap(self) -> None:
        """Wait for the snapshots that were told to quit and have (no zombies left)."""
        for pid in list(self.ending):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                self.ending.remove(pid)

    def _sleep_as_snapshot(self, me: Snapshot, sock: socket.socket) -> None:
        """The snapshot's life: wait for a mission, fork a process for it; end when told or
        when the session's root is gone.  Returns only in a forked child."""
        old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)       # its children are never waited for
        while True:
            ready = select.select([sock], [], [], 1.0)[0]
            if not ready:
                if not _alive(self.root):
                    os._exit(0)
                continue
            try:
                message = _recv(sock)
            except OSError:
                message = None
            if message is None or message['op'] == 'quit':
                os._exit(0)
            if _fork() == 0:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                signal.signal(signal.SIGINT, old_int)
                self.mission = message
                self.reply_sock = sock
                return

    def _begin_mission(self, p) -> None:
        self.stub.forget_hooks()
        if self.mission['op'] == 'scan':
            self.hits = []
            self.stub.set_hooks(self.mission['breaks'], self.mission['watches'], self.mission['watch_pid'],
                                self.mission['access'])
        if self.position() >= self.mission['until']:
            self.after_slice(p)

    def _report_scan(self) -> None:
        _send(self.reply_sock, self.hits)
        os._exit(0)

    def _arrive(self, p) -> None:
        """A runner at its target: it becomes the present and answers gdb."""
        mission, self.mission = self.mission, None
        self.reply_sock.close()
        self.stub.restore(mission['state'])
        self.stub.stop_here(p, mission['reason'])

    # -- hits seen by a scanner -------------------------------------------------------------------
    def note_breakpoint(self) -> None:
        """A breakpoint's hook: the instruction there is about to run (single-stepping has
        already counted it as begun)."""
        pos = self.position_in_slice() - 1
        if pos < self.mission['until']:
            self.hits.append((pos, 'swbreak:;'))

    def note_watch(self, reason: str) -> None:
        """A slice ended right after an instruction changed a watched value, or read or
        wrote one (reason: `watch:ADDR;`, `rwatch:ADDR;`, `awatch:ADDR;`): going backwards,
        the stop is before that instruction."""
        pos = self.position() - 1
        if pos < self.mission['until']:
            self.hits.append((pos, reason))

    # -- going back (the present, serving gdb) -----------------------------------------------
    def reverse_step(self) -> bool:
        """bs: back one instruction.  False: already at the beginning."""
        pos = self.position()
        if pos <= self.beginning:
            return False
        self._goto(pos - 1, '')
        return True

    def reverse_continue(self) -> bool:
        """bc: back to the last breakpoint or watchpoint hit before now.  False: there is
        none; the stub is then at the beginning (it went there, or was there)."""
        pos = self.position()
        limit = pos
        for snap in reversed([s for s in self.snapshots if s.pos < pos]):
            _send(snap.sock, {'op': 'scan', 'until': limit, **self.stub.hooks_state()})
            hits = _recv(snap.sock) or []
            if hits:
                target, reason = max(hits)
                self._goto(target, reason)
                return True
            limit = snap.pos
        if pos <= self.beginning:
            return False
        self._goto(self.beginning, 'replaylog:begin;')
        return True

    def _goto(self, target: int, reason: str) -> None:
        """Hand the session to a runner from the nearest snapshot at or before target."""
        snap = max((s for s in self.snapshots if s.pos <= target), key=lambda s: s.pos)
        _send(snap.sock, {'op': 'goto', 'until': target, 'reason': reason, 'state': self.stub.state()})
        for later in [s for s in self.snapshots if s.pos > snap.pos]:
            self._quit(later)
        self._hand_over()

    @staticmethod
    def _quit(snap: Snapshot) -> None:
        try:
            _send(snap.sock, {'op': 'quit'})
            snap.sock.close()
        except OSError:
            pass

    def _hand_over(self) -> None:
        """The present's part is over: the root sleeps until the session ends, others end."""
        if os.getpid() != self.root:
            os._exit(0)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        os.close(self.status_w)
        data = b''
        while len(data) < 4:
            chunk = os.read(self.status_r, 4 - len(data))
            if not chunk:
                os._exit(1)            # every runner is gone without a word
            data += chunk
        os._exit(struct.unpack('<i', data)[0])

    def end(self, status: int) -> None:
        """The session is over in the present: snapshots end; a runner tells the root."""
        if self.ended:
            return
        self.ended = True
        for snap in self.snapshots:
            self._quit(snap)
        self.snapshots = []
        if os.getpid() != self.root:
            sys.stdout.flush()
            sys.stderr.flush()
            os.write(self.status_w, struct.pack('<i', status))

    def _exit_anyway(self) -> None:
        """At interpreter exit without session_ended (a runner that failed): the root
        must not wait for ever."""
        if not self.ended and self.mission is None:
            self.end(1)
