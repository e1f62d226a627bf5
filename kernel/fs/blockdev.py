"""The block-device interface file systems use, and a host-side implementation of it.

The kernel never sleeps: a read that has to wait for the disk is a generator that yields a
wait object while DMA is in flight and returns the data when it is done.  A file system
therefore does `data = yield from dev.read_block(n)` and is itself a generator; only the
kernel's scheduler looks at what is yielded.

On the host (tests, image tools) FileBlockDevice reads an image file directly, so its
generators never yield, and run_sync() drives a whole file-system call to its result.

Writes come in three kinds, so that a file system can order what reaches the disk (the
crash rules in ext2.py): write_block/write_run for contents (file data, and blocks nothing
points at yet), write_meta for metadata that may go to the disk later but never before
the contents written ahead of it, and write_ordered for metadata that must be on the disk
before the call returns, because the next change depends on it.  A host file has no
cache between it and the image, so FileBlockDevice writes all three at once.
"""

import os
from typing import Any, Generator, Protocol


class BlockDevice(Protocol):
    """What a file system needs from a disk: fixed-size blocks by number."""

    block_size: int           # the file system sets this once it has read its superblock

    def read_block(self, blockno: int) -> Generator[Any, Any, bytes]: ...

    def read_run(self, blockno: int, count: int) -> Generator[Any, Any, bytes]: ...

    def write_block(self, blockno: int, data: bytes) -> Generator[Any, Any, None]: ...

    def write_run(self, blockno: int, data: bytes) -> Generator[Any, Any, None]: ...

    def write_meta(self, blockno: int, data: bytes) -> Generator[Any, Any, None]: ...

    def write_ordered(self, blockno: int, data: bytes) -> Generator[Any, Any, None]: ...

    def sync(self) -> Generator[Any, Any, None]: ...


class FileBlockDevice:
    """A block device backed by an image file, starting `offset_bytes` into it (a partition)."""

    def __init__(self, path, offset_bytes: int = 0, block_size: int = 1024, readonly: bool = False):
        self.path = path
        self.offset = offset_bytes
        self.block_size = block_size
        self._fd = os.open(path, os.O_RDONLY if readonly else os.O_RDWR)

    def read_block(self, blockno: int) -> Generator[Any, Any, bytes]:
        data = os.pread(self._fd, self.block_size, self._byte_offset(blockno))
        if len(data) != self.block_size:
            raise OSError(f"{self.path}: block {blockno} lies beyond the end of the image")
        return data
        yield  # unreachable: makes this a generator that never waits

    def read_run(self, blockno: int, count: int) -> Generator[Any, Any, bytes]:
        """Blocks blockno..blockno+count-1 in one read."""
        data = os.pread(self._fd, count * self.block_size, self._byte_offset(blockno))
        if len(data) != count * self.block_size:
            raise OSError(f"{self.path}: block {blockno + count - 1} lies beyond the end of the image")
        return data
        yield  # unreachable: see read_block

    def write_block(self, blockno: int, data: bytes) -> Generator[Any, Any, None]:
        if len(data) != self.block_size:
            raise ValueError(f"write of {len(data)} bytes to a {self.block_size}-byte block")
        os.pwrite(self._fd, data, self._byte_offset(blockno))
        return None
        yield  # unreachable: see read_block

    def write_run(self, blockno: int, data: bytes) -> Generator[Any, Any, None]:
        """Whole blocks from blockno on, in one write."""
        if len(data) % self.block_size:
            raise ValueError(f"write of {len(data)} bytes: not whole {self.block_size}-byte blocks")
        os.pwrite(self._fd, data, self._byte_offset(blockno))
        return None
        yield  # unreachable: see read_block

    def write_meta(self, blockno: int, data: bytes) -> Generator[Any, Any, None]:
        """Metadata: on the image at once, like everything else here."""
        yield from self.write_block(blockno, data)

    def write_ordered(self, blockno: int, data: bytes) -> Generator[Any, Any, None]:
        yield from self.write_block(blockno, data)

    def sync(self) -> Generator[Any, Any, None]:
        """Everything is on the image already."""
        return None
        yield  # unreachable: see read_block

    def _byte_offset(self, blockno: int) -> int:
        return self.offset + blockno * self.block_size

    def close(self):
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def run_sync(gen: Generator):
    """Run a generator that must never wait (all its I/O is host-side) and return its value."""
    try:
        waited_for = gen.send(None)
    except StopIteration as done:
        return done.value
    gen.close()
    raise RuntimeError(f"run_sync: the operation yielded {waited_for!r}, so it needs the kernel's "
                       "scheduler to wait for I/O; use a host-side device such as FileBlockDevice")
