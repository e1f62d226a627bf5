"""/dev/disk0: the raw disk as a block device file, through the block layer.

Reads and writes go straight to the disk by DMA (no buffer cache): whole sectors,
at sector-aligned offsets, as raw block devices opened for direct I/O require.
"""

from ..errno import Errno
from ..fs.file import File
from ..mm.frames import PAGE_SIZE
from .blk import BlockRequest


class DiskFile(File):
    seekable = True

    def __init__(self, kernel, disk, flags: int):
        super().__init__(flags)
        self.kernel = kernel
        self.disk = disk

    def _transfer(self, offset: int, n: int, data: bytes | None):
        ss = self.disk.sector_size
        if offset % ss or n % ss:
            return -Errno.EINVAL
        n = max(0, min(n, self.disk.sectors * ss - offset))
        out = bytearray()
        frames = self.kernel.frames
        mem = self.kernel.machine.memory
        for pos in range(0, n, PAGE_SIZE):
            step = min(PAGE_SIZE, n - pos)
            frame = frames.alloc(zero=False)
            try:
                if data is not None:
                    mem.write(frame, data[pos:pos + step])
                req = self.disk.queue.submit(BlockRequest(self.disk, (offset + pos) // ss, step // ss,
                                                          [(frame, step)], write=data is not None))
                error = yield from req.wait()
                if error:
                    return error
                if data is None:
                    out += mem.read(frame, step)
            finally:
                frames.release(frame)
        return bytes(out) if data is None else n

    def pread(self, n: int, offset: int):
        return (yield from self._transfer(offset, n, None))

    def read(self, n: int):
        data = yield from self.pread(n, self.offset)
        if not isinstance(data, int):
            self.offset += len(data)
        return data

    def pwrite(self, data: bytes, offset: int):
        return (yield from self._transfer(offset, len(data), data))

    def write(self, data: bytes):
        n = yield from self.pwrite(data, self.offset)
        if n > 0:
            self.offset += n
        return n
