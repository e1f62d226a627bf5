"""/proc: files the kernel makes up when they are read, describing itself.

  /proc/PID/stat     Linux's 52 fields (proc(5)), what ps reads
  /proc/PID/status   the same and more, a "Name:\tvalue" line each
  /proc/PID/cmdline  every argument of the process's exec, each ended by a NUL
  /proc/PID/maps     its mappings, as Linux prints them
  /proc/PID/exe      a symlink to the program's file (the path exec resolved)
  /proc/PID/cwd      a symlink to its working directory
  /proc/PID/fd/N     a symlink to what descriptor N names
  /proc/PID/task/TID the threads of process PID, each like /proc/PID for that thread
  /proc/self         a symlink to the calling thread's process; thread-self to its task
  /proc/meminfo, uptime, loadavg, stat, version, cpuinfo, vmstat, sys/kernel/...
  /proc/mounts       the mount table, as Linux prints it

Only thread-group leaders are listed as PID directories.  The contents are made by
fs/procinfo.py.  A node is a tuple of names: () is /proc, ('12', 'stat') is /proc/12/stat.
Nothing here is stored: each open() takes a snapshot, so a reader sees one consistent
state even if processes come and go meanwhile.
"""

import weakref

from ..errno import Errno
from .fserror import FsError
from .fsstat import Stat
from .ext2_layout import InodeType
from .file import ConsoleFile, O_ACCMODE, O_RDONLY
from .fsys import FileSystem, DirFile, BytesFile, dtype_of, make_stat
from . import procinfo

PROC_INO = 0x7F000000          # inode numbers for /proc entries live far above ext2's
PROC_SUPER_MAGIC = 0x9FA0
DIR, FILE, LINK = InodeType.S_IFDIR | 0o555, InodeType.S_IFREG | 0o444, InodeType.S_IFLNK | 0o777
TOP_LINKS = ('self', 'thread-self')
PID_LINKS = ('exe', 'cwd')
PID_DIRS = ('fd', 'task')
FD_INO, TASK_INO, SYS_INO = 0x100, 0x800, 0x800     # offsets within a PID's (or /proc's) range


def _mounts(k) -> bytes:
    lines = []
    for m in k.vfs.mounts():
        options = 'ro' if m.readonly else 'rw'
        lines.append(m.source.encode() + b' ' + m.path + f' {m.fs.name} {options} 0 0\n'.encode())
    return b''.join(lines)


TOP_FILES = {**procinfo.MACHINE_FILES, 'mounts': _mounts}


class ProcFile(BytesFile):
    def __init__(self, content: bytes, ino: int):
        super().__init__(content, _stat(ino, FILE, len(content)))
        self.ino = ino


def _stat(ino: int, mode: int, size: int) -> Stat:
    return make_stat(ino, mode, size)


class ProcFs(FileSystem):
    name = 'proc'
    readonly = True
    dev = 0x4
    magic = PROC_SUPER_MAGIC

    def __init__(self, kernel):
        self.kernel = kernel
        self.pipe_numbers = weakref.WeakKeyDictionary()     # Pipe -> the number fd links show

    def root(self):
        return ()

    # -- the tree --------------------------------------------------------------------------
    def _leader(self, name: str):
        """The thread-group leader whose PID directory `name` is (ENOENT otherwise)."""
        p = self.kernel.procs.get(int(name)) if name.isdigit() else None
        if p is None or not p.is_leader:
            raise FsError(Errno.ENOENT)
        return p

    def _tids(self, p) -> list[int]:
        return sorted(t.pid for t in self.kernel.procs.values() if t.tgid == p.pid and
                      (t.state.value != 'zombie' or t.is_leader))

    def _task(self, node: tuple):
        """(the process or thread a PID or task directory describes, the names below it)."""
        p = self._leader(node[0])
        rest = node[1:]
        if len(rest) >= 2 and rest[0] == 'task':
            if not rest[1].isdigit() or int(rest[1]) not in self._tids(p):
                raise FsError(Errno.ENOENT)
            return self.kernel.procs[int(rest[1])], rest[2:], False
        return p, rest, True

    def _mode(self, node: tuple) -> int:
        """The type and permissions of a node that exists (ENOENT otherwise)."""
        if not node:
            return DIR
        top = node[0]
        if len(node) == 1 and top in TOP_FILES:
            return FILE
        if len(node) == 1 and top in TOP_LINKS:
            return LINK
        if top == 'sys':
            return self._sysctl_mode(node[1:])
        p, rest, leader = self._task(node)
        if not rest:
            return DIR
        if len(rest) == 1 and rest[0] in procinfo.PROCESS_FILES:
            return FILE
        if len(rest) == 1 and rest[0] in PID_LINKS:
            return LINK
        if rest == ('fd',) or (rest == ('task',) and leader):
            return DIR
        if len(rest) == 2 and rest[0] == 'fd' and rest[1].isdigit() and p.fds.get(int(rest[1])):
            return LINK
        raise FsError(Errno.ENOENT)

    @staticmethod
    def _sysctl_mode(rest: tuple) -> int:
        if not rest or rest == ('kernel',):
            return DIR
        if len(rest) == 2 and rest[0] == 'kernel' and rest[1] in procinfo.SYSCTL_KERNEL:
            return FILE
        raise FsError(Errno.ENOENT)

    def _ino(self, node: tuple) -> int:
        if not node:
            return PROC_INO
        top = node[0]
        if top == 'sys':
            extra = 0 if len(node) == 1 else 1 if len(node) == 2 else \
                2 + list(procinfo.SYSCTL_KERNEL).index(node[2])
            return PROC_INO + SYS_INO + extra
        if not top.isdigit():
            return PROC_INO + 1 + (list(TOP_FILES) + list(TOP_LINKS)).index(top)
        p, rest, leader = self._task(node)
        base = PROC_INO + 0x1000 * p.pid
        if not rest:
            return base
        if rest[0] == 'task':
            return base + TASK_INO
        if rest[0] == 'fd':
            return base + (FD_INO + 1 + int(rest[1]) if len(rest) == 2 else FD_INO)
        return base + 1 + (list(procinfo.PROCESS_FILES) + list(PID_LINKS)).index(rest[0])

    def lookup(self, dir_node: tuple, name: bytes):
        if self._mode(dir_node) != DIR:
            raise FsError(Errno.ENOTDIR)
        if name == b'.':
            return dir_node
        if name == b'..':
            return dir_node[:-1]
        node = dir_node + (name.decode(errors='surrogateescape'),)
        self._mode(node)
        return node

    def stat(self, node: tuple):
        mode = self._mode(node)
        size = len(self._content(node)) if mode == FILE else 0
        return _stat(self._ino(node), mode, size)

    def _names(self, dir_node: tuple) -> list[str]:
        k = self.kernel
        if not dir_node:
            leaders = [str(pid) for pid, t in sorted(k.procs.items()) if t.is_leader]
            return leaders + list(TOP_FILES) + ['sys'] + list(TOP_LINKS)
        if dir_node == ('sys',):
            return ['kernel']
        if dir_node == ('sys', 'kernel'):
            return list(procinfo.SYSCTL_KERNEL)
        p, rest, leader = self._task(dir_node)
        if not rest:
            return list(procinfo.PROCESS_FILES) + list(PID_LINKS) + ['fd'] + (['task'] if leader else [])
        if rest == ('task',):
            return [str(t) for t in self._tids(p)]
        return [str(fd) for fd in sorted(p.fds.fds)]

    def readdir(self, dir_node: tuple):
        if self._mode(dir_node) != DIR:
            raise FsError(Errno.ENOTDIR)
        listing = [(b'.', self._ino(dir_node), 4), (b'..', self._ino(dir_node[:-1]), 4)]
        for name in self._names(dir_node):
            node = dir_node + (name,)
            listing.append((name.encode(), self._ino(node), dtype_of(self._mode(node))))
        return listing

    def readlink(self, node: tuple):
        if self._mode(node) != LINK:
            raise FsError(Errno.EINVAL)
        k = self.kernel
        me = k.current
        if node == ('self',):
            return str(me.tgid if me else 0).encode()
        if node == ('thread-self',):
            return f'{me.tgid}/task/{me.pid}'.encode() if me else b'0'
        p, rest, _ = self._task(node)
        if rest == ('exe',):
            return p.exe
        if rest == ('cwd',):
            return p.cwd.path
        return self._fd_link(p.fds.get(int(rest[1])))

    def _fd_link(self, f) -> bytes:
        """What /proc/PID/fd/N says a descriptor names, as Linux words it; a pipe gets a
        number the first time it is asked about (both ends show the same)."""
        loc = getattr(f, 'loc', None)
        if loc is not None:
            return loc.path
        if isinstance(f, ConsoleFile):
            return b'/dev/console'
        if hasattr(f, 'pipe'):
            number = self.pipe_numbers.setdefault(f.pipe, len(self.pipe_numbers) + 1)
            return f'pipe:[{number}]'.encode()
        return f'anon_inode:[{type(f).__name__}]'.encode()

    def open(self, node: tuple, flags: int):
        if flags & O_ACCMODE != O_RDONLY:
            raise FsError(Errno.EACCES)
        if self._mode(node) == DIR:
            return DirFile(self, node, flags)
        return ProcFile(self._content(node), self._ino(node))

    # -- what the files say -----------------------------------------------------------------
    def _content(self, node: tuple) -> bytes:
        k = self.kernel
        if len(node) == 1:
            return TOP_FILES[node[0]](k)
        if node[0] == 'sys':
            return procinfo.SYSCTL_KERNEL[node[2]](k)
        p, rest, _ = self._task(node)
        return procinfo.PROCESS_FILES[rest[0]](k, p)
