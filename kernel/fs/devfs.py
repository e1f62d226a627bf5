"""/dev: the device nodes, made by the kernel (Linux's devtmpfs, read-only here).

Each entry is a character or block device number; opening it goes through the same device
switch as a device node on ext2 (Vfs.devsw, filled in mount.py), so /dev/null is the same
driver whichever file system names it.  /dev/stdin, stdout and stderr are symlinks into
/proc/self/fd as on Linux.  The disk appears as disk0 when there is one.
"""

from ..errno import Errno
from ..dev.mem import MAJOR_MEM, MINOR_NULL, MINOR_ZERO, MINOR_FULL, MINOR_RANDOM, MINOR_URANDOM
from .ext2_layout import InodeType
from .fserror import FsError
from .fsys import FileSystem, DirFile, dtype_of, make_stat

MAJOR_TTY, MINOR_TTY = 5, 0          # /dev/tty: the controlling terminal (here, the console)
MAJOR_CONSOLE, MINOR_CONSOLE = 5, 1
MAJOR_DISK = 8
DEV_INO = 0x7E000000

CHR, BLK = InodeType.S_IFCHR, InodeType.S_IFBLK
DEVICES = {
    b'null': (CHR | 0o666, MAJOR_MEM, MINOR_NULL),
    b'zero': (CHR | 0o666, MAJOR_MEM, MINOR_ZERO),
    b'full': (CHR | 0o666, MAJOR_MEM, MINOR_FULL),
    b'random': (CHR | 0o666, MAJOR_MEM, MINOR_RANDOM),
    b'urandom': (CHR | 0o666, MAJOR_MEM, MINOR_URANDOM),
    b'tty': (CHR | 0o666, MAJOR_TTY, MINOR_TTY),
    b'console': (CHR | 0o620, MAJOR_CONSOLE, MINOR_CONSOLE),
}
LINKS = {b'stdin': b'/proc/self/fd/0', b'stdout': b'/proc/self/fd/1', b'stderr': b'/proc/self/fd/2',
         b'fd': b'/proc/self/fd'}


class DevFs(FileSystem):
    """Nodes: b'' for /dev itself, else the entry's name."""
    name = 'devtmpfs'
    readonly = True
    dev = 0x5
    magic = 0x01021994            # devtmpfs is a tmpfs (TMPFS_MAGIC)

    def __init__(self, disk: bool = False):
        self.devices = dict(DEVICES)
        if disk:
            self.devices[b'disk0'] = (BLK | 0o660, MAJOR_DISK, 0)
        self.names = sorted(self.devices) + sorted(LINKS)

    def root(self):
        return b''

    def lookup(self, dir_node: bytes, name: bytes):
        if dir_node:
            raise FsError(Errno.ENOTDIR)
        if name in (b'.', b'..'):
            return b''
        if name not in self.devices and name not in LINKS:
            raise FsError(Errno.ENOENT)
        return name

    def _ino(self, node: bytes) -> int:
        return DEV_INO + (self.names.index(node) + 1 if node else 0)

    def stat(self, node: bytes):
        if not node:
            return make_stat(DEV_INO, InodeType.S_IFDIR | 0o755, nlink=2)
        if node in LINKS:
            return make_stat(self._ino(node), InodeType.S_IFLNK | 0o777, len(LINKS[node]))
        mode, major, minor = self.devices[node]
        return make_stat(self._ino(node), mode, rdev_major=major, rdev_minor=minor)

    def readdir(self, dir_node: bytes):
        if dir_node:
            raise FsError(Errno.ENOTDIR)
        listing = [(b'.', DEV_INO, 4), (b'..', DEV_INO, 4)]
        return listing + [(n, self._ino(n), dtype_of(self.stat(n).mode)) for n in self.names]

    def readlink(self, node: bytes):
        if node not in LINKS:
            raise FsError(Errno.EINVAL)
        return LINKS[node]

    def open(self, node: bytes, flags: int):
        return DirFile(self, node, flags)       # only /dev itself gets here: nodes are devices
