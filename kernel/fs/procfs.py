"""/proc: files the kernel makes up when they are read, describing itself.

  /proc/PID/stat     Linux's 52 fields (proc(5)), what ps reads
  /proc/PID/status   the same and more, a "Name:\tvalue" line each
  /proc/PID/cmdline  every argument of the process's exec, each ended by a NUL
  /proc/PID/maps     its mappings, as Linux prints them
  /proc/meminfo, uptime, loadavg, stat, version, cpuinfo, vmstat, sys/kernel/...
  /proc/PID/task/TID the threads of process PID, each like /proc/PID for that thread

The contents are made by fs/procinfo.py.  Nothing here is stored: each open() takes a
snapshot, so a reader sees one consistent state even if processes come and go meanwhile.
"""

from ..errno import Errno
from .ext2 import FsError, Stat
from .ext2_layout import InodeType
from .file import File, O_ACCMODE, O_RDONLY
from . import procinfo

PROC_INO = 0x7F000000          # inode numbers for /proc entries live far above ext2's
SUBDIRS = {'sys', 'kernel'}


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
        listing += [(name, PROC_INO + i + 1, 2 if name.isdigit() or name in SUBDIRS else 1) for i, name in enumerate(self.names)]
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
            return ProcDir([str(pid) for pid, t in sorted(k.procs.items()) if t.is_leader] + list(procinfo.MACHINE_FILES) + ['sys'],
                           PROC_INO, path)
        if parts[0] in procinfo.MACHINE_FILES and len(parts) == 1:
            return ProcFile(procinfo.MACHINE_FILES[parts[0]](k),
                            PROC_INO + 1 + list(procinfo.MACHINE_FILES).index(parts[0]))
        if parts[0] == 'sys':
            return self._sysctl(parts, path)
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
            return ProcDir(list(procinfo.PROCESS_FILES) + (['task'] if p.is_leader else []), ino, path)
        if len(parts) == 2 and parts[1] in procinfo.PROCESS_FILES:
            return ProcFile(procinfo.PROCESS_FILES[parts[1]](self.kernel, p),
                            ino + 1 + list(procinfo.PROCESS_FILES).index(parts[1]))
        raise FsError(Errno.ENOENT)

    def _sysctl(self, parts: list[str], path: str) -> File:
        """/proc/sys/kernel/NAME: a few of the kernel's settings."""
        ino = PROC_INO + 0x800
        if parts == ['sys']:
            return ProcDir(['kernel'], ino, path)
        if parts == ['sys', 'kernel']:
            return ProcDir(list(procinfo.SYSCTL_KERNEL), ino + 1, path)
        if len(parts) == 3 and parts[1] == 'kernel' and parts[2] in procinfo.SYSCTL_KERNEL:
            return ProcFile(procinfo.SYSCTL_KERNEL[parts[2]](self.kernel),
                            ino + 2 + list(procinfo.SYSCTL_KERNEL).index(parts[2]))
        raise FsError(Errno.ENOENT)
