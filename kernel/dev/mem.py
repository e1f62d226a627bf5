"""The memory devices: /dev/null, /dev/zero, /dev/full, /dev/random and /dev/urandom
(character major 1, as on Linux).

/dev/null reads as end of file and swallows every write; /dev/zero reads as an endless
run of zero bytes and swallows writes too.  Reading /dev/zero fills the user's buffer in
place (demand-zero pages are made present a run at a time), so it also serves as the
floor of the read() path: a syscall and a copy-sized fill with no device behind them.
Neither device has a position: pread and pwrite ignore the offset, and every lseek
succeeds and returns 0, as Linux's null_lseek does.  /dev/full reads as zeros and
refuses every write with ENOSPC.  /dev/random and /dev/urandom read the kernel's seeded
generator (k.random), so a run with the same seed reads the same bytes.
"""

from ..errno import Errno
from ..fs.file import File

MAJOR_MEM = 1
MINOR_NULL, MINOR_ZERO, MINOR_FULL = 3, 5, 7     # Linux's minors
MINOR_RANDOM, MINOR_URANDOM = 8, 9


class NullFile(File):
    seekable = True
    positionless = True         # lseek always lands at 0 (sys_lseek)

    def read(self, n: int):
        return b''
        yield

    def write(self, data: bytes):
        return len(data)
        yield

    def pread(self, n: int, offset: int):
        return (yield from self.read(n))

    def pwrite(self, data: bytes, offset: int):
        return (yield from self.write(data))


class ZeroFile(NullFile):
    def read(self, n: int):
        return bytes(n)
        yield

    def read_into(self, user, va: int, n: int):
        user.write_from_phys(va, [(None, n)])
        return n
        yield

    def pread_into(self, user, va: int, n: int, offset: int):
        return (yield from self.read_into(user, va, n))


class FullFile(ZeroFile):
    def write(self, data: bytes):
        return -Errno.ENOSPC
        yield


class RandomFile(NullFile):
    """Bytes from the kernel's seeded generator; writes (entropy) are accepted and ignored."""

    def __init__(self, flags: int, rng):
        super().__init__(flags)
        self.rng = rng

    def read(self, n: int):
        return self.rng.randbytes(n)
        yield


MEM_DEVICES = {MINOR_NULL: NullFile, MINOR_ZERO: ZeroFile, MINOR_FULL: FullFile}


def open_mem(minor: int, flags: int, rng=None) -> File | None:
    """The devsw opener for major 1; None for a minor ukern does not have (random and
    urandom need the kernel's generator `rng`)."""
    if minor in (MINOR_RANDOM, MINOR_URANDOM):
        return RandomFile(flags, rng) if rng is not None else None
    kind = MEM_DEVICES.get(minor)
    return kind(flags) if kind is not None else None
