"""The memory devices: /dev/null and /dev/zero (character major 1, as on Linux).

/dev/null reads as end of file and swallows every write; /dev/zero reads as an endless
run of zero bytes and swallows writes too.  Reading /dev/zero fills the user's buffer in
place (demand-zero pages are made present a run at a time), so it also serves as the
floor of the read() path: a syscall and a copy-sized fill with no device behind them.
Neither device has a position: pread and pwrite ignore the offset, and every lseek
succeeds and returns 0, as Linux's null_lseek does.
"""

from ..fs.file import File

MAJOR_MEM = 1
MINOR_NULL, MINOR_ZERO = 3, 5     # Linux's minors for /dev/null and /dev/zero


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


MEM_DEVICES = {MINOR_NULL: NullFile, MINOR_ZERO: ZeroFile}


def open_mem(minor: int, flags: int) -> File | None:
    """The devsw opener for major 1; None for a minor ukern does not have."""
    kind = MEM_DEVICES.get(minor)
    return kind(flags) if kind is not None else None
