"""A raw disk image: the backing store of an emulated SATA disk.

The image is an ordinary host file holding the disk's sectors back to back.  It is read
and written in place, so a large image costs nothing up front and writes survive the run.
The AHCI model (emu/ahci.py) calls `read_into`/`write_from` when a command completes: one
vectored os.preadv/os.pwritev moves the sectors straight between the file and the guest
frames a PRDT names, as a DMA engine would, with no intermediate copy.  `read`/`write`
(bytes in, bytes out) are for tools and tests.  `bad_ranges` lets tests and experiments
make chosen sectors fail the way a medium error on a real disk does.

One image file can hold two disks (emu/machine.py): a DiskImage may be a window of the file
(`window=(first_sector, sectors)`: its LBA 0 is the file's sector first_sector), and a disk
may have `fenced` ranges it cannot reach at all, so the kernel's disk never touches the part
of the file another controller's disk owns (a fenced access fails as a missing sector).
"""

import os

IOV_MAX = 1024          # POSIX's limit on the buffers of one preadv/pwritev (Linux: 1024)


class MediaError(Exception):
    """An access touched a sector listed in `bad_ranges` (the disk reports UNC/ABRT)."""

    def __init__(self, lba: int):
        super().__init__(f'medium error at LBA {lba}')
        self.lba = lba


class Fenced(Exception):
    """An access touched a sector this disk does not own (the disk reports IDNF)."""

    def __init__(self, lba: int):
        super().__init__(f'sector {lba} belongs to another disk')
        self.lba = lba


class DiskImage:
    def __init__(self, path, sector_size: int = 512, bad_ranges=None,
                 window: tuple[int, int] | None = None, fenced=None):
        if sector_size <= 0 or sector_size % 512:
            raise ValueError(f'sector size must be a positive multiple of 512, not {sector_size}')
        self.path = os.fspath(path)
        self.sector_size = sector_size
        self.bad_ranges: list[tuple[int, int]] = list(bad_ranges or [])
        self.fenced: list[tuple[int, int]] = list(fenced or [])
        self._fd: int | None = os.open(self.path, os.O_RDWR)
        # A trailing partial sector is not addressable, as on a real disk.
        in_file = os.fstat(self._fd).st_size // sector_size
        first, count = window if window is not None else (0, in_file)
        if first < 0 or count < 0 or first + count > in_file:
            os.close(self._fd)
            raise ValueError(f'{self.path}: window {first}+{count} outside its {in_file} sectors')
        self._base = first * sector_size        # byte offset of LBA 0 in the file
        self.sectors = count

    @classmethod
    def create(cls, path, sectors: int, sector_size: int = 512) -> 'DiskImage':
        """Make a zero-filled (sparse) image of `sectors` sectors and open it."""
        with open(path, 'wb') as f:
            f.truncate(sectors * sector_size)
        return cls(path, sector_size)

    # -- sector access -----------------------------------------------------------------
    def read(self, lba: int, count: int) -> bytes:
        buf = bytearray(count * self.sector_size)
        self.read_into(lba, [memoryview(buf)])
        return bytes(buf)

    def write(self, lba: int, data: bytes) -> None:
        self.write_from(lba, [memoryview(data)])

    def read_into(self, lba: int, buffers: list) -> None:
        """Scatter the sectors from lba on over `buffers` (writable memoryviews whose sizes
        add up to whole sectors), in order."""
        total = sum(len(b) for b in buffers)
        self._check(lba, self._whole_sectors(total))
        offset = self._base + lba * self.sector_size
        for first in range(0, len(buffers), IOV_MAX):
            batch = buffers[first:first + IOV_MAX]
            want = sum(len(b) for b in batch)
            got = os.preadv(self._require_fd(), batch, offset)
            if got < want:
                self._finish_short_read(batch, got, offset)
            offset += want

    def _finish_short_read(self, batch: list, got: int, offset: int) -> None:
        # A partial read (a signal, or the file shrank under us): go on piece by piece, and
        # sectors past the end of a short file read as zeros.
        for view in batch:
            if got >= len(view):
                got -= len(view)
                offset += len(view)
                continue
            view = view[got:]
            offset += got
            got = 0
            while view:
                n = os.preadv(self._require_fd(), [view], offset)
                if n == 0:
                    view[:] = bytes(len(view))
                    n = len(view)
                view = view[n:]
                offset += n

    def write_from(self, lba: int, buffers: list) -> None:
        """Gather `buffers` (memoryviews adding up to whole sectors) to the sectors from lba on."""
        total = sum(len(b) for b in buffers)
        self._check(lba, self._whole_sectors(total))
        offset = self._base + lba * self.sector_size
        for first in range(0, len(buffers), IOV_MAX):
            batch = buffers[first:first + IOV_MAX]
            done = os.pwritev(self._require_fd(), batch, offset)
            for view in batch:                  # a partial write goes on piece by piece
                skip = min(done, len(view))
                done -= skip
                view = view[skip:]
                offset += skip
                while view:
                    n = os.pwrite(self._require_fd(), view, offset)
                    view = view[n:]
                    offset += n

    def _whole_sectors(self, nbytes: int) -> int:
        if nbytes % self.sector_size:
            raise ValueError(f'{nbytes} bytes are not whole {self.sector_size}-byte sectors')
        return nbytes // self.sector_size

    def flush(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- checks --------------------------------------------------------------------------
    def first_bad_sector(self, lba: int, count: int) -> int | None:
        """The lowest LBA in [lba, lba+count) that lies in a bad range, or None."""
        worst = None
        for start, n in self.bad_ranges:
            lo, hi = max(lba, start), min(lba + count, start + n)
            if lo < hi and (worst is None or lo < worst):
                worst = lo
        return worst

    def first_fenced_sector(self, lba: int, count: int) -> int | None:
        """The lowest LBA in [lba, lba+count) that this disk may not reach, or None."""
        hits = [max(lba, start) for start, n in self.fenced if max(lba, start) < min(lba + count, start + n)]
        return min(hits) if hits else None

    def _check(self, lba: int, count: int) -> None:
        # Checked before any byte moves, so a failing request leaves the image untouched.
        if lba < 0 or count < 0 or lba + count > self.sectors:
            raise ValueError(f'sectors {lba}+{count} outside a {self.sectors}-sector disk')
        fenced = self.first_fenced_sector(lba, count)
        if fenced is not None:
            raise Fenced(fenced)
        bad = self.first_bad_sector(lba, count)
        if bad is not None:
            raise MediaError(bad)

    def _require_fd(self) -> int:
        if self._fd is None:
            raise ValueError(f'disk image {self.path} is closed')
        return self._fd
