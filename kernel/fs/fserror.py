"""The file system's failures: FsError carries the errno a system call returns, negated."""

from kernel.errno import Errno


class FsError(Exception):
    """A file-system call failed; .errno is what the system call returns, negated."""

    def __init__(self, errno: int, message: str | None = None):
        self.errno = Errno(errno)
        super().__init__(message or self.errno.name)


class Ext2Error(FsError):
    """The image is not an ext2 file system this code can use, or it is corrupt."""

    def __init__(self, message: str, errno: int = Errno.EINVAL):
        super().__init__(errno, message)
