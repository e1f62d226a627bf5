"""`--record FILE` and `ukern replay FILE`: what entered the machine from outside, kept so
that the same session runs again byte for byte.

Inside the machine everything is a function of its state and the instructions it retires
(virtual time); only the host side of the console (keys, a pipe, a file), the host's Ctrl-C,
the start (options, environment, disk content) and, without a disk, the host files the
guest reads come from outside.  The kernel takes
host input at *input points*: after each slice while a person may type, when a read or a
poll finds the console empty, and when the machine is idle waiting for a key
(kernel.host_input.poll_host_input / wait_for_host_input).  While recording, slices are
bounded by instructions (the exact clock), so the input points come in the same order at
the same instruction counts in every run; the Recorder numbers them and writes down what
arrived at each.  The Replayer stands where the host was and gives the same bytes at the
same points.  A host Ctrl-C (input from a pipe or file) is queued and handed in at the
next input point, like a key.  The host files are kept by their SHA-256 (HostFiles): the
program, and each regular file the guest opens for reading through hostfs, noted when it
is first opened; a replay refuses to start if one of them is missing or has changed.

The file (little-endian throughout):

  RecordHeader      magic "UKRECORD", version, the size of the options text, the
                    SHA-256 of the disk image at the start (zeros: no disk), the seed
  options           UTF-8 JSON: the command line, the host's view (terminals, the
                    guest's environment, the working directory), an --input script
  RecordEntry...    one per input event: the input point's number, the instructions
                    retired and the virtual time (ns) when it was taken, the kind
                    (EntryKind), and the length of the data that follows it; and one per
                    host file read (HOST_FILE, input point 0), where it was first opened

Version 2 added the HOST_FILE entries; a recording of version 1 is refused (it cannot say
which host files its run read).
"""

import base64
import ctypes
import enum
import hashlib
import json
import os
import signal
import stat

from ..cmdline import CommandError

MAGIC = b'UKRECORD'
VERSION = 2


class RecordHeader(ctypes.LittleEndianStructure):
    _pack_ = 1
    _fields_ = [('magic', ctypes.c_char * 8), ('version', ctypes.c_uint16),
                ('reserved', ctypes.c_uint16), ('options_size', ctypes.c_uint32),
                ('disk_sha256', ctypes.c_uint8 * 32), ('seed', ctypes.c_uint64)]


assert ctypes.sizeof(RecordHeader) == 56


class RecordEntry(ctypes.LittleEndianStructure):
    _pack_ = 1
    _fields_ = [('point', ctypes.c_uint64), ('instructions', ctypes.c_uint64),
                ('time_ns', ctypes.c_uint64), ('kind', ctypes.c_uint8),
                ('reserved', ctypes.c_uint8 * 3), ('size', ctypes.c_uint32)]


assert ctypes.sizeof(RecordEntry) == 32


class EntryKind(enum.IntEnum):
    INPUT = 1          # console bytes (the data)
    EOF = 2            # the host side will send nothing more
    SIGNAL = 3         # a host Ctrl-C for the foreground job (data: the signal number, one byte)
    STOP = 4           # a second host Ctrl-C: the kernel stops the run
    HOST_FILE = 5      # a host file the guest opened for reading (data: its SHA-256, then its path)


def disk_digest(path: str | None) -> bytes:
    """The SHA-256 of a disk image's content (32 zero bytes for no disk)."""
    if not path:
        return bytes(32)
    with open(path, 'rb') as f:
        return fd_digest(f.fileno())


def fd_digest(fd: int) -> bytes:
    """The SHA-256 of an open file's content (read with pread: its offset stays)."""
    h = hashlib.sha256()
    offset = 0
    while chunk := os.pread(fd, 1 << 20, offset):
        h.update(chunk)
        offset += len(chunk)
    return h.digest()


class HostFiles:
    """The host files a recorded run reads: each regular file once, with its SHA-256 when
    first opened.  hostfs calls opened() (HostFs.on_read_open) and so does cli.load_program
    for a program it reads from the host itself; the Recorder writes them down."""

    def __init__(self, clock):
        self.clock = clock
        self.noted: list[tuple[bytes, bytes, int, int]] = []   # path, SHA-256, instructions, ns
        self._paths: set[bytes] = set()
        self.sink = None                      # the Recorder's, once it runs

    def opened(self, path: bytes, fd: int) -> None:
        if path in self._paths or not stat.S_ISREG(os.fstat(fd).st_mode):
            return                            # (a device or a pipe has no content to keep)
        self._paths.add(path)
        note = (path, fd_digest(fd), self.clock.instructions, self.clock.now)
        self.noted.append(note)
        if self.sink is not None:
            self.sink(*note)


def encode_script(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode() if data is not None else None


def decode_script(text: str | None) -> bytes | None:
    return base64.b64decode(text) if text is not None else None


class _Gate:
    """What the recorder and the replayer share: numbered input points, and the host's
    Ctrl-C queued until the next one."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.console = kernel.machine.console
        self.point = 0
        self.host_stop = False                 # a second host Ctrl-C stopped the run
        kernel.host_input = self
        kernel.exact_clock = True              # slices end by instructions, never host time

    def host_signal(self, sig: int) -> None: ...

    def request_stop(self) -> None: ...


class Recorder(_Gate):
    """Stands between the host and the console while a session is recorded."""

    def __init__(self, kernel, path: str, options: dict, disk_sha256: bytes, seed: int = 0,
                 host_files: HostFiles | None = None):
        super().__init__(kernel)
        text = json.dumps(options, sort_keys=True).encode()
        head = RecordHeader(magic=MAGIC, version=VERSION, options_size=len(text), seed=seed)
        head.disk_sha256[:] = disk_sha256
        try:
            self.file = open(path, 'wb')
        except OSError as e:
            raise CommandError(f'--record {path}: {e.strerror}') from None
        self.file.write(bytes(head) + text)
        self._pending_signals: list[int] = []       # from the host's SIGINT handler
        self._stop = False
        self._taking = False
        self.console.on_feed = self._fed
        self.host_files = host_files
        if host_files is not None:            # the program, read before the run began ...
            for note in host_files.noted:
                self._write_host_file(*note)
            host_files.sink = self._write_host_file    # ... and each file opened from now on

    # the kernel's input points
    def poll_host_input(self) -> bool:
        return self._take(self.console.poll_host_input)

    def wait_for_host_input(self) -> bool:
        return self._take(self.console.wait_for_host_input)

    def _take(self, ask) -> bool:
        self.point += 1
        self._taking = True
        try:
            got = ask()
        finally:
            self._taking = False
        while self._pending_signals:
            sig = self._pending_signals.pop(0)
            self._write(EntryKind.SIGNAL, bytes((sig,)))
            self.kernel.host_signals.append(sig)
            got = True
        if self._stop and not self.kernel.stop_requested:
            self._write(EntryKind.STOP, b'')
            self.kernel.stop_requested = self.host_stop = True
            got = True
        return got

    def _fed(self, data: bytes, eof: bool) -> None:
        if not self._taking:
            return                   # an --input script's key: its own clock event, replayed as such
        if data:
            self._write(EntryKind.INPUT, data)
        if eof:
            self._write(EntryKind.EOF, b'')

    # the host's Ctrl-C (kernel/hostint.py), from a signal handler: only queued here
    def host_signal(self, sig: int) -> None:
        self._pending_signals.append(sig)

    def request_stop(self) -> None:
        self._stop = True

    def _write(self, kind: EntryKind, data: bytes, point: int | None = None,
               at: tuple[int, int] | None = None) -> None:
        clock = self.kernel.clock
        instructions, ns = at if at is not None else (clock.instructions, clock.now)
        entry = RecordEntry(point=self.point if point is None else point, instructions=instructions,
                            time_ns=ns, kind=kind, size=len(data))
        self.file.write(bytes(entry) + data)
        self.file.flush()            # a session killed from outside keeps what it had

    def _write_host_file(self, path: bytes, digest: bytes, instructions: int, ns: int) -> None:
        self._write(EntryKind.HOST_FILE, digest + path, point=0, at=(instructions, ns))

    def close(self) -> None:
        self.console.on_feed = None
        if self.host_files is not None:
            self.host_files.sink = None
        self.file.close()


class Recording:
    """A recording read back: the header's fields, the options, and the entries."""

    def __init__(self, path: str):
        try:
            with open(path, 'rb') as f:
                raw = f.read()
        except OSError as e:
            raise CommandError(f'{path}: {e.strerror}') from None
        size = ctypes.sizeof(RecordHeader)
        head = RecordHeader.from_buffer_copy(raw[:size]) if len(raw) >= size else None
        if head is None or head.magic != MAGIC:
            raise CommandError(f'{path}: not a recording made by ukern --record')
        if head.version != VERSION:
            raise CommandError(f'{path}: a recording of format {head.version}, this ukern replays '
                               f'format {VERSION} (it keeps the host files read): record the session again')
        self.disk_sha256 = bytes(head.disk_sha256)
        self.seed = head.seed
        try:
            self.options = json.loads(raw[size:size + head.options_size])
        except ValueError:
            raise CommandError(f'{path}: the recording\'s options are damaged') from None
        self.entries: list[tuple[RecordEntry, bytes]] = []       # the input events
        self.host_files: list[tuple[bytes, bytes]] = []          # (path, SHA-256)
        off, esize = size + head.options_size, ctypes.sizeof(RecordEntry)
        while off + esize <= len(raw):
            entry = RecordEntry.from_buffer_copy(raw[off:off + esize])
            data = raw[off + esize:off + esize + entry.size]
            if entry.kind == EntryKind.HOST_FILE:
                self.host_files.append((data[32:], data[:32]))
            else:
                self.entries.append((entry, data))
            off += esize + entry.size

    def check_disk(self, disk: str | None) -> None:
        """Refuse a disk image whose content is not the one the session started with."""
        if self.disk_sha256 == bytes(32):
            return
        if not disk:
            raise CommandError('the recording was made with a disk: give it with --disk IMAGE')
        try:
            digest = disk_digest(disk)
        except OSError as e:
            raise CommandError(f'--disk {disk}: {e.strerror}') from None
        if digest != self.disk_sha256:
            raise CommandError(f'{disk} is not the disk the session was recorded on (SHA-256 '
                               f'{digest.hex()[:16]}..., recorded {self.disk_sha256.hex()[:16]}...): '
                               'replay needs a copy of the image as it was when recording began')


    def check_host_files(self) -> None:
        """Refuse to replay if a host file the session read is missing or has changed."""
        for path, recorded in self.host_files:
            name = os.fsdecode(path)
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as e:
                raise CommandError(f'{name}: {e.strerror}: the session read this host file, '
                                   'and replay needs it as it was') from None
            try:
                digest = fd_digest(fd)
            finally:
                os.close(fd)
            if digest != recorded:
                raise CommandError(f'{name} is not the host file the session read (SHA-256 '
                                   f'{digest.hex()[:16]}..., recorded {recorded.hex()[:16]}...): '
                                   'replay needs the files as they were')


class Replayer(_Gate):
    """Stands where the host was: gives the recorded input at the recorded input points."""

    def __init__(self, kernel, recording: Recording):
        super().__init__(kernel)
        self.entries = list(recording.entries)
        self.next = 0
        self.interrupted = False             # Ctrl-C during the replay
        self.diverged: str | None = None     # why the replay stopped early, if it did

    def poll_host_input(self) -> bool:
        self.point += 1
        return self._deliver()

    def wait_for_host_input(self) -> bool:
        """A wait the recording saw end with nothing recorded here: no more input ever
        comes (the recording ended while the machine waited)."""
        self.point += 1
        return self._deliver()

    def _deliver(self) -> bool:
        got = False
        while self.next < len(self.entries) and self.entries[self.next][0].point == self.point:
            entry, data = self.entries[self.next]
            self.next += 1
            if entry.instructions != self.kernel.clock.instructions:
                self.diverged = (f'the replay went another way: input point {self.point} was at '
                                 f'instruction {entry.instructions}, now at {self.kernel.clock.instructions}')
                self.kernel.stop_requested = True
                return False
            got = True
            if entry.kind == EntryKind.INPUT:
                self.console.feed(data)
            elif entry.kind == EntryKind.EOF:
                self.console.feed(b'', eof=True)
            elif entry.kind == EntryKind.SIGNAL:
                self.kernel.host_signals.append(data[0])
            elif entry.kind == EntryKind.STOP:
                self.kernel.stop_requested = self.host_stop = True
        return got

    def host_signal(self, sig: int) -> None:
        """Ctrl-C during a replay ends it (the recording decides what the guest gets)."""
        self.interrupted = True
        self.kernel.stop_requested = True

    def request_stop(self) -> None:
        self.host_signal(signal.SIGINT)

    def close(self) -> None:
        pass

