"""/proc: files the kernel makes up when they are read, describing itself.

  /proc/self         a symlink to the calling process's directory
  /proc/PID/stat     "pid (name) state ppid pgid sid" — the first fields of Linux's format
  /proc/PID/cmdline  the name
  /proc/PID/exe      a symlink to the program's file (the path exec resolved)
  /proc/PID/cwd      a symlink to its working directory
  /proc/PID/fd/N     a symlink to what descriptor N names
  /proc/meminfo      frames in all and free
  /proc/vmstat       the memory manager's counters (one "name value" per line)
  /proc/mounts       the mount table, as Linux prints it

A node is a tuple of names: () is /proc, ('12', 'stat') is /proc/12/stat.  Nothing here
is stored: each open() takes a snapshot, so a reader sees one consistent state even if
processes come and go meanwhile.
"""

import weakref

from ..errno import Errno
from .ext2 import FsError, Stat
from .ext2_layout import InodeType, S_IFMT
from .file import ConsoleFile, O_ACCMODE, O_RDONLY
from .fsys import FileSystem, DirFile, BytesFile, dtype_of, make_stat

PROC_INO = 0x7F000000          # inode numbers for /proc entries live far above ext2's
STATE_LETTER = {'runnable': 'R', 'blocked': 'S', 'stopped': 'T', 'zombie': 'Z'}
DIR, FILE, LINK = InodeType.S_IFDIR | 0o555, InodeType.S_IFREG | 0o444, InodeType.S_IFLNK | 0o777
TOP_FILES = ('meminfo', 'vmstat', 'mounts')
PID_FILES = ('stat', 'cmdline')
PID_LINKS = ('exe', 'cwd')


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

    def __init__(self, kernel):
        self.kernel = kernel
        self.pipe_numbers = weakref.WeakKeyDictionary()     # Pipe -> the number fd links show

    def root(self):
        return ()

    # -- the tree --------------------------------------------------------------------------
    def _process(self, node: tuple):
        p = self.kernel.procs.get(int(node[0]))
        if p is None:
            raise FsError(Errno.ENOENT)
        return p

    def _mode(self, node: tuple) -> int:
        """The type and permissions of a node that exists (ENOENT otherwise)."""
        if not node:
            return DIR
        if len(node) == 1:
            if node[0] in TOP_FILES:
                return FILE
            if node[0] == 'self':
                return LINK
            if not node[0].isdigit():
                raise FsError(Errno.ENOENT)
            self._process(node)
            return DIR
        p = self._process(node)
        if len(node) == 2 and node[1] in PID_FILES:
            return FILE
        if len(node) == 2 and node[1] in PID_LINKS:
            return LINK
        if node[1] == 'fd' and len(node) == 2:
            return DIR
        if node[1] == 'fd' and len(node) == 3 and node[2].isdigit() and p.fds.get(int(node[2])):
            return LINK
        raise FsError(Errno.ENOENT)

    def _ino(self, node: tuple) -> int:
        if not node:
            return PROC_INO
        if not node[0].isdigit():
            return PROC_INO + 1 + (TOP_FILES + ('self',)).index(node[0])
        names = PID_FILES + PID_LINKS + ('fd',)
        extra = 1 + names.index(node[1]) if len(node) > 1 else 0
        if len(node) == 3:
            extra = 0x100 + int(node[2])
        return PROC_INO + 0x1000 * int(node[0]) + extra

    def lookup(self, dir_node: tuple, name: bytes):
        if self._mode(dir_node) & S_IFMT != InodeType.S_IFDIR:
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

    def readdir(self, dir_node: tuple):
        if self._mode(dir_node) != DIR:
            raise FsError(Errno.ENOTDIR)
        k = self.kernel
        if not dir_node:
            names = [str(pid) for pid in sorted(k.procs)] + list(TOP_FILES) + ['self']
        elif len(dir_node) == 1:
            names = list(PID_FILES + PID_LINKS) + ['fd']
        else:
            names = [str(fd) for fd in sorted(self._process(dir_node).fds.fds)]
        listing = [(b'.', self._ino(dir_node), 4), (b'..', self._ino(dir_node[:-1]), 4)]
        for name in names:
            node = dir_node + (name,)
            listing.append((name.encode(), self._ino(node), dtype_of(self._mode(node))))
        return listing

    def readlink(self, node: tuple):
        if self._mode(node) != LINK:
            raise FsError(Errno.EINVAL)
        k = self.kernel
        if node == ('self',):
            return str(k.current.pid if k.current else 0).encode()
        p = self._process(node)
        if node[1] == 'exe':
            return p.exe
        if node[1] == 'cwd':
            return p.cwd.path
        return self._fd_link(p.fds.get(int(node[2])))

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
        if node == ('meminfo',):
            return self._meminfo()
        if node == ('vmstat',):
            return self._vmstat()
        if node == ('mounts',):
            return self._mounts()
        p = self._process(node)
        if node[1] == 'stat':
            state = STATE_LETTER.get(p.state.value, '?')
            return f'{p.pid} ({p.name}) {state} {p.ppid} {p.pgid} {p.sid}\n'.encode()
        if node[1] == 'cmdline':
            return p.name.encode() + b'\0'
        raise FsError(Errno.ENOENT)

    def _meminfo(self) -> bytes:
        frames = self.kernel.frames
        return (f'MemTotal: {frames.total * 4} kB\nMemFree: {frames.free_count * 4} kB\n').encode()

    def _vmstat(self) -> bytes:
        counters = getattr(self.kernel, 'vmstat', {})
        return ''.join(f'{name} {value}\n' for name, value in sorted(counters.items())).encode()

    def _mounts(self) -> bytes:
        lines = []
        for m in self.kernel.vfs.mounts():
            options = 'ro' if m.readonly else 'rw'
            lines.append(m.source.encode() + b' ' + m.path + f' {m.fs.name} {options} 0 0\n'.encode())
        return b''.join(lines)
