"""Recordings without --disk (issue 18): the guest reads the host's files through hostfs, so
the recording keeps the SHA-256 of each one it read, the program included, and `ukern replay`
refuses in one line when one of them has changed or is gone (kernel/trace/record.py)."""

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kernel.trace.record import Recording, RecordHeader

ROOT = Path(__file__).resolve().parent.parent
UKERN = [sys.executable, '-m', 'kernel']


def record(tmp_path: Path, program: Path, *args: str) -> tuple[Path, bytes]:
    recording = tmp_path / 'run.rec'
    r = subprocess.run(UKERN + ['run', '--record', str(recording), str(program), *args],
                       capture_output=True, timeout=120, cwd=ROOT, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr
    return recording, r.stdout


def replay(recording: Path) -> subprocess.CompletedProcess:
    return subprocess.run(UKERN + ['replay', str(recording)], capture_output=True, timeout=120,
                          cwd=ROOT, stdin=subprocess.DEVNULL)


def refusal(r: subprocess.CompletedProcess) -> str:
    """The one line a refused replay prints (and nothing else)."""
    lines = r.stderr.decode().strip().splitlines()
    assert r.returncode == 1 and r.stdout == b'' and len(lines) == 1, r.stderr
    return lines[0]


def copies(userland: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of cat and an input file of our own, to change without harm."""
    cat = tmp_path / 'cat'
    shutil.copy(userland / 'bin' / 'cat', cat)
    data = tmp_path / 'input.txt'
    data.write_bytes(b'one\ntwo\n')
    return cat, data


def test_the_recording_keeps_the_program_and_the_files_read(userland, tmp_path):
    cat, data = copies(userland, tmp_path)
    recording, out = record(tmp_path, cat, str(data))
    assert out == b'one\ntwo\n'
    kept = dict(Recording(str(recording)).host_files)
    assert kept == {bytes(cat.resolve()): hashlib.sha256(cat.read_bytes()).digest(),
                    bytes(data.resolve()): hashlib.sha256(b'one\ntwo\n').digest()}
    again = replay(recording)
    assert again.returncode == 0 and again.stdout == out, again.stderr


@pytest.mark.parametrize('changed', ['the input file', 'the executable'])
def test_a_replay_refuses_a_changed_host_file(userland, tmp_path, changed):
    cat, data = copies(userland, tmp_path)
    recording, _ = record(tmp_path, cat, str(data))
    target = data if changed == 'the input file' else cat
    with open(target, 'ab') as f:
        f.write(b'\0')
    line = refusal(replay(recording))
    assert line.startswith(f'ukern: {target.resolve()} is not the host file the session read'), line


def test_a_replay_refuses_a_missing_input_file(userland, tmp_path):
    cat, data = copies(userland, tmp_path)
    recording, _ = record(tmp_path, cat, str(data))
    data.unlink()
    assert refusal(replay(recording)) == (f'ukern: {data.resolve()}: No such file or directory: the '
                                          'session read this host file, and replay needs it as it was')


def test_a_directory_listed_is_not_kept(userland, tmp_path):
    """ls reads a directory, not a file: nothing to keep but the program itself."""
    recording, out = record(tmp_path, userland / 'bin' / 'ls', str(tmp_path))
    assert b'run.rec' in out
    assert [path for path, _ in Recording(str(recording)).host_files] == [bytes((userland / 'bin' / 'ls').resolve())]


def test_a_recording_of_the_old_format_is_refused_in_one_line(userland, tmp_path):
    recording, _ = record(tmp_path, userland / 'bin' / 'hello')
    raw = bytearray(recording.read_bytes())
    raw[RecordHeader.version.offset] = 1
    recording.write_bytes(bytes(raw))
    assert refusal(replay(recording)) == (f'ukern: {recording}: a recording of format 1, this ukern '
                                          'replays format 2 (it keeps the host files read): record '
                                          'the session again')
