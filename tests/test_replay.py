"""Record and replay (issue 18): a session typed at a terminal, with its keys arriving
whenever the host delivers them, runs again byte for byte from its recording."""

import hashlib
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import copy_image
from kernel.trace.record import Recording, EntryKind, RecordHeader, RecordEntry

UKERN = [sys.executable, '-m', 'kernel']
ROOT = Path(__file__).resolve().parent.parent


class Terminal:
    """ukern on a pseudo-terminal, driven as a person would: type, wait for the prompt."""

    def __init__(self, args, timeout=120):
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(UKERN + args, stdin=slave, stdout=slave, stderr=slave,
                                     close_fds=True, cwd=ROOT)
        os.close(slave)
        self.out = b''
        self.deadline = time.monotonic() + timeout

    def _read(self, wait: float) -> bool:
        ready = select.select([self.master], [], [], wait)[0]
        if not ready:
            return True
        try:
            data = os.read(self.master, 4096)
        except OSError:
            return False
        self.out += data
        return bool(data)

    def wait_for(self, text: bytes, after: int = 0) -> None:
        while text not in self.out[after:]:
            assert time.monotonic() < self.deadline, self.out
            assert self._read(0.1), self.out

    def type(self, keys: str, then: bytes | None = b'$ ') -> None:
        """Type, then wait until the output shows `then` again (a new prompt)."""
        mark = len(self.out)
        os.write(self.master, keys.encode())
        if then is not None:
            self.wait_for(then, mark)

    def pause(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self._read(0.05)

    def finish(self) -> int:
        while self.proc.poll() is None and time.monotonic() < self.deadline:
            self._read(0.1)
        while self._read(0.1) and select.select([self.master], [], [], 0)[0]:
            pass
        os.close(self.master)
        return self.proc.wait(timeout=10)


def replay(recording: Path, image: Path, trace: Path | None = None) -> subprocess.CompletedProcess:
    args = ['replay', str(recording), '--disk', str(image)]
    if trace is not None:
        args += ['--trace', str(trace)]
    return subprocess.run(UKERN + args, capture_output=True, timeout=300, cwd=ROOT)


@pytest.fixture
def recorded_session(master_image, tmp_path):
    """A session at a terminal: a pipeline, a busy program stopped with Ctrl-C, a
    background job; recorded on one copy of the disk, a pristine copy kept beside it."""
    before = copy_image(master_image, tmp_path / 'before.img')
    image = copy_image(master_image, tmp_path / 'disk.img')
    recording = tmp_path / 'session.rec'
    term = Terminal(['boot', '--disk', str(image), '--record', str(recording)])
    term.wait_for(b'$ ')
    term.type('echo one two three | wc -w\n')
    term.type('yes > /dev/null\n', then=None)
    term.pause(0.5)                              # it runs on for a while of host time ...
    term.type('\x03')                            # ... until Ctrl-C, whenever that lands
    term.type('yes | head -c 5000 | wc -c &\n')
    term.type('wait\n')
    term.type('exit\n', then=None)
    status = term.finish()
    return recording, before, term.out, status


def test_a_recorded_session_replays_five_times_identically(recorded_session, tmp_path):
    recording, before, typed_out, status = recorded_session
    assert status == 0, typed_out
    assert b'3\r\n' in typed_out and b'^C' in typed_out and b'5000' in typed_out, typed_out
    rec = Recording(str(recording))
    kinds = [entry.kind for entry, _ in rec.entries]
    assert EntryKind.INPUT in kinds
    assert b''.join(d for e, d in rec.entries if e.kind == EntryKind.INPUT).count(b'\x03') == 1
    outputs, traces = set(), set()
    for i in range(5):
        trace = tmp_path / f'trace{i}.json'
        r = replay(recording, before, trace)
        assert r.returncode == 0, r.stderr
        outputs.add(r.stdout)
        traces.add(hashlib.sha256(trace.read_bytes()).hexdigest())
    assert len(outputs) == 1 and len(traces) == 1
    out = outputs.pop()
    assert b'ukern init: the shell exited' in out
    assert out in typed_out                # what the person saw, byte for byte (ukern's own
                                           # lines to the same terminal aside)


def test_a_replay_refuses_a_different_disk(recorded_session, tmp_path):
    recording, before, _, _ = recorded_session
    with open(before, 'r+b') as f:            # one byte of partition 1's free space
        f.seek(40 << 20)
        f.write(b'x')
    r = replay(recording, before)
    assert r.returncode == 1
    lines = r.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and 'is not the disk the session was recorded on' in lines[0], r.stderr
    assert r.stdout == b''


def test_recording_a_pipe_and_the_record_layout(userland, tmp_path):
    """`ukern run` with input from a pipe: the bytes arrive when the guest asks."""
    recording = tmp_path / 'cat.rec'
    r = subprocess.run(UKERN + ['run', '--record', str(recording), str(userland / 'bin' / 'wc')],
                       input=b'a b c\nd e\n', capture_output=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    raw = recording.read_bytes()
    assert raw[:8] == b'UKRECORD'
    head = RecordHeader.from_buffer_copy(raw)
    assert bytes(head.disk_sha256) == bytes(32)            # no disk
    rec = Recording(str(recording))
    assert [e.kind for e, _ in rec.entries][-1] == EntryKind.EOF
    assert b''.join(d for e, d in rec.entries) == b'a b c\nd e\n'
    wc = userland / 'bin' / 'wc'                            # the one host file it read, first
    assert rec.host_files == [(bytes(wc.resolve()), hashlib.sha256(wc.read_bytes()).digest())]
    files = sum(32 + 32 + len(path) for path, _ in rec.host_files)
    assert len(raw) == (56 + head.options_size + files + sum(32 + e.size for e, _ in rec.entries))
    again = subprocess.run(UKERN + ['replay', str(recording)], capture_output=True, timeout=120,
                           cwd=ROOT, stdin=subprocess.DEVNULL)
    assert again.returncode == 0 and again.stdout == r.stdout, again.stderr
    # an entry moved by one instruction: the replay notices and says so in one line
    off = 56 + head.options_size + files + 8
    moved = raw[:off] + (int.from_bytes(raw[off:off + 8], 'little') + 1).to_bytes(8, 'little') + raw[off + 8:]
    recording.write_bytes(moved)
    bad = subprocess.run(UKERN + ['replay', str(recording)], capture_output=True, timeout=120,
                         cwd=ROOT, stdin=subprocess.DEVNULL)
    assert bad.returncode == 1
    assert bad.stderr.decode().strip().splitlines()[-1].startswith('ukern: the replay went another way'), bad.stderr


def test_not_a_recording_is_one_line(tmp_path):
    bogus = tmp_path / 'bogus.rec'
    bogus.write_bytes(b'hello')
    r = subprocess.run(UKERN + ['replay', str(bogus)], capture_output=True, timeout=60, cwd=ROOT)
    assert r.returncode == 1
    assert r.stderr.decode().strip() == f'ukern: {bogus}: not a recording made by ukern --record'


def test_the_trace_of_a_lone_process_counts_its_instructions(userland, tmp_path):
    """--trace turns the exact clock on: a process alone still moves virtual time, so the
    trace spans its loop (about 3.7 million instructions, 1 ns each)."""
    import json
    trace = tmp_path / 'spin.json'
    r = subprocess.run(UKERN + ['run', '--trace', str(trace), str(userland / 'tests' / 'spin'), '1000000'],
                       capture_output=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    events = [e for e in json.loads(trace.read_text())['traceEvents'] if 'ts' in e]
    assert max(e['ts'] for e in events) > 3000            # µs of virtual time
    exit_call = [e for e in events if e.get('name') == 'exit_group']
    assert exit_call and exit_call[0]['ts'] > 3000
    getpid = [e for e in events if e.get('name') == 'getpid']
    assert getpid and getpid[0]['dur'] == 0.1             # a call's modelled cost, 100 ns



def test_host_ctrl_c_is_recorded_as_input(userland, tmp_path):
    """Input from a pipe: a host Ctrl-C is a signal for the guest, a second one stops
    ukern; both are taken at an input point and replayed there."""
    import signal
    recording = tmp_path / 'ctrlc.rec'
    p = subprocess.Popen(UKERN + ['run', '--record', str(recording), str(userland / 'tests' / 'busyloop'), 'ignore'],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    assert p.stdout.readline() == b'busyloop: started\n'
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 130 and b'second Ctrl-C' in err, err
    kinds = [e.kind for e, _ in Recording(str(recording)).entries]
    assert kinds == [EntryKind.SIGNAL, EntryKind.STOP], kinds
    for _ in range(2):
        again = subprocess.run(UKERN + ['replay', str(recording)], capture_output=True, timeout=120,
                               cwd=ROOT, stdin=subprocess.DEVNULL)
        assert (again.returncode, again.stdout, again.stderr) == (130, b'busyloop: started\n', err)
