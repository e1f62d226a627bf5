"""/proc: files the kernel makes up when they are read, describing itself.

  /proc/PID/stat     "pid (name) state ppid pgid sid" — the first fields of Linux's format
  /proc/PID/cmdline  the name
  /proc/PID/task/TID the threads of process PID, each with its stat and cmdline
  /proc/meminfo      frames in all and free
  /proc/vmstat       the memory manager's counters (one "name value" per line)

Nothing here is stored: each open() takes a snapshot, so a reader sees one consistent
state even if processes come and go meanwhile.
"""

from ..errno import Errno
from .ext2 import FsError, Stat
from .ext2_layout import InodeType
from .file import File, O_ACCMODE, O_RDONLY

PROC_INO = 0x7F000000          # inode numbers for /proc entries live far above ext2's
STATE_LETTER = {'runnable': 'R', 'blocked': 'S', 'stopped': 'T', 'zombie': 'Z'}


class ProcFile(File):
    seekable = True

    def __init__(self, content: bytes, ino: int):
        super().__init__(O_RDONLY)
        self.content = content
        self.ino = ino

    def read(self, n: int):
        data = self.content[self.offset:self.offset + n]
        self.offset += len(data)
        return data
        yield

    def pread(self, n: int, offset: int):
        return self.content[offset:offset + n]
        yield

    def stat(self):
        return _stat(self.ino, InodeType.S_IFREG | 0o444, len(self.content))
        yield


class ProcDir(File):
    """A /proc directory: getdents64 lists `names`."""
    seekable = True

    def __init__(self, names: list[str], ino: int, path: str):
        super().__init__(O_RDONLY)
        self.names = names
        self.ino = ino
        self.path = path

    def read(self, n: int):
        return -Errno.EISDIR
        yield

    def entries(self):
        listing = [('.', self.ino, 2), ('..', 2, 2)]
        listing += [(name, PROC_INO + i + 1, 2 if name.isdigit() else 1) for i, name in enumerate(self.names)]
        return listing
        yield

    def stat(self):
        return _stat(self.ino, InodeType.S_IFDIR | 0o555, 0)
        yield


def _stat(ino: int, mode: int, size: int) -> Stat:
    return Stat(ino=ino, mode=int(mode), nlink=1, uid=0, gid=0, size=size, atime=0, mtime=0,
                ctime=0, blocks=0)


class ProcFs:
    def __init__(self, kernel):
        self.kernel = kernel

    @staticmethod
    def owns(path: str) -> bool:
        return path == '/proc' or path.startswith('/proc/')

    def open(self, path: str, flags: int) -> File:
        if flags & O_ACCMODE != O_RDONLY:
            raise FsError(Errno.EACCES)
        parts = [x for x in path.split('/')[2:] if x]
        k = self.kernel
        if not parts:
            pids = [str(pid) for pid, t in sorted(k.procs.items()) if t.is_leader]   # processes
            return ProcDir(pids + ['meminfo', 'vmstat'], PROC_INO, path)
        if parts == ['meminfo']:
            return ProcFile(self._meminfo(), PROC_INO + 1)
        if parts == ['vmstat']:
            return ProcFile(self._vmstat(), PROC_INO + 2)
        if parts[0] == 'self':
            parts[0] = str(k.current.tgid) if k.current else '0'
        if parts[0] == 'thread-self':
            parts[0:1] = [str(k.current.tgid), 'task', str(k.current.pid)] if k.current else ['0']
        if not parts[0].isdigit() or int(parts[0]) not in k.procs or not k.procs[int(parts[0])].is_leader:
            raise FsError(Errno.ENOENT)
        p = k.procs[int(parts[0])]
        if len(parts) >= 2 and parts[1] == 'task':
            return self._task(p, parts[2:], path)
        return self._entry(p, parts[1:], path)

    def _task(self, p, parts: list[str], path: str) -> File:
        """/proc/PID/task: a directory per thread, each like /proc/PID for that thread."""
        k = self.kernel
        tids = sorted(t.pid for t in k.procs.values() if t.tgid == p.pid and
                      (t.state.value != 'zombie' or t.is_leader))
        if not parts:
            return ProcDir([str(t) for t in tids], PROC_INO + 0x1000 * p.pid + 0x800, path)
        if not parts[0].isdigit() or int(parts[0]) not in tids:
            raise FsError(Errno.ENOENT)
        return self._entry(k.procs[int(parts[0])], parts[1:], path)

    def _entry(self, p, parts: list[str], path: str) -> File:
        ino = PROC_INO + 0x1000 * p.pid
        parts = [''] + parts                    # (the indices below count from the PID)
        if len(parts) == 1:
            return ProcDir(['stat', 'cmdline'] + (['task'] if p.is_leader else []), ino, path)
        if parts[1:] == ['stat']:
            state = STATE_LETTER.get(p.state.value, '?')
            return ProcFile(f'{p.pid} ({p.name}) {state} {p.ppid} {p.pgid} {p.sid}\n'.encode(), ino + 1)
        if parts[1:] == ['cmdline']:
            return ProcFile(p.name.encode() + b'\0', ino + 2)
        raise FsError(Errno.ENOENT)

    def _meminfo(self) -> bytes:
        frames = self.kernel.frames
        return (f'MemTotal: {frames.total * 4} kB\nMemFree: {frames.free_count * 4} kB\n').encode()

    def _vmstat(self) -> bytes:
        counters = getattr(self.kernel, 'vmstat', {})
        return ''.join(f'{name} {value}\n' for name, value in sorted(counters.items())).encode()
