"""The object store's sectors through the kernel's own block layer (AHCI DMA).

The store (store.py) asks for sectors synchronously; the kernel's I/O is asynchronous, so
this device waits for each transfer in place, letting device events run meanwhile (as the
kernel does at boot).  Object metadata is small and rare; object pages come whole.
"""

from ..dev.blk import BlockRequest
from ..mm.frames import PAGE_SIZE

SECTOR = 512


class KernelSectorDevice:
    def __init__(self, kernel, disk, start_lba: int, nsectors: int):
        self.kernel = kernel
        self.disk = disk
        self.start_lba = start_lba
        self.nsectors = nsectors
        self.reads = self.writes = 0

    def _transfer(self, lba: int, count: int, data: bytes | None) -> bytes:
        if lba < 0 or lba + count > self.nsectors:
            raise ValueError(f'sectors {lba}+{count} outside the object store')
        k = self.kernel
        out = bytearray()
        per_frame = PAGE_SIZE // SECTOR
        for first in range(0, count, per_frame):
            n = min(per_frame, count - first)
            frame = k.frames.alloc(zero=False)
            try:
                if data is not None:
                    k.machine.memory.write(frame, data[first * SECTOR:(first + n) * SECTOR])
                req = self.disk.queue.submit(BlockRequest(self.disk, self.start_lba + lba + first, n,
                                                          [(frame, n * SECTOR)], write=data is not None))
                k.run_until(lambda: req.done)
                if req.error:
                    raise OSError(f'object store I/O error at sector {lba + first}')
                if data is None:
                    out += k.machine.memory.read(frame, n * SECTOR)
            finally:
                k.frames.release(frame)
        return bytes(out)

    def read(self, lba: int, count: int) -> bytes:
        self.reads += 1
        return self._transfer(lba, count, None)

    def write(self, lba: int, data: bytes) -> None:
        self.writes += 1
        self._transfer(lba, len(data) // SECTOR, data)
