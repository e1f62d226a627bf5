"""Shared mappings of host files (hostfs): the frames every mapper of a host file shares.

hostfs reads and writes go straight to the host file, with no cache; a MAP_SHARED mapping
needs more: frames that every process mapping the file maps, and a way back to the file.
HostPages keeps them for one host file (page index -> frame, read from the file at the
first fault), for as long as some mapping of the file exists (each mmap's HostPageView
counts once, until its last region is gone).  The Dirty bits the mappers' PTEs collect
are passed on by AddressSpace.sync_shared at msync, munmap and exit, and each such page is
written back to the host file then, up to the file's end (a mapping never grows a file).
A read() of the file sees what was written back, not the mapping's newer bytes: hostfs
has no page cache for them to share, as Linux's would.
"""

import fcntl
import os
import weakref

from ..mm.frames import PAGE_SIZE
from .tmpfs import Present


class HostPages:
    """The shared frames of one host file (found through HostFs.shared_pages)."""

    def __init__(self, frames, fd: int, forget):
        self.frames = frames
        self.fd = os.dup(fd)            # its own: the guest may close its descriptor first
        self.writable = _writable(fd)
        self.forget = forget            # takes this cache out of the file system's table
        self.pages: dict[int, int] = {}
        self.failed: set[int] = set()   # blocks whose read or write-back the host refused
        self.users = 0

    def page(self, blockno: int) -> Present | None:
        """Block b is page b - 1 of the file, read from the host at the first fault;
        None if the host cannot read it (the fault handler sends SIGBUS)."""
        index = blockno - 1
        frame = self.pages.get(index)
        if frame is None:
            frame = self.frames.alloc(zero=True)       # OutOfMemory: the fault waits for memory
            try:
                data = os.pread(self.fd, PAGE_SIZE, index * PAGE_SIZE)
            except OSError:
                self.frames.release(frame)
                self.failed.add(blockno)
                return None
            self.frames.memory.write(frame, data)
            self.pages[index] = frame
        return Present(frame)

    def peek(self, blockno: int) -> Present | None:
        """Page blockno - 1 if it is in memory already (nothing is read: fault-around)."""
        frame = self.pages.get(blockno - 1)
        return Present(frame) if frame is not None else None

    def mark_dirty(self, blockno: int) -> None:
        """A mapper wrote the page: write it back to the host file now (its part inside
        the file)."""
        frame = self.pages.get(blockno - 1)
        if frame is None:
            return
        offset = (blockno - 1) * PAGE_SIZE
        try:
            n = min(PAGE_SIZE, os.fstat(self.fd).st_size - offset)
            if n > 0:
                os.pwrite(self.fd, self.frames.memory.read(frame, n), offset)
        except OSError:
            self.failed.add(blockno)

    def mapped(self, fd: int) -> None:
        """One more mmap of the file, through the host descriptor fd: if the pages were
        first mapped read-only, a writable descriptor becomes the one they go back by."""
        self.users += 1
        if not self.writable and _writable(fd):
            os.close(self.fd)
            self.fd, self.writable = os.dup(fd), True

    def unmapped(self) -> None:
        """A mapping is gone; with the last one the frames go back and the file is closed."""
        self.users -= 1
        if self.users:
            return
        for frame in self.pages.values():
            self.frames.release(frame)
        self.pages.clear()
        os.close(self.fd)
        self.forget()


def _writable(fd: int) -> bool:
    return fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE != os.O_RDONLY


class HostPageView:
    """What the fault handler and msync ask of one mmap of a host file (the MappedFile's
    cache): its HostPages, held until the last region of this mmap is gone."""
    gives_back_mapped_pages = False     # the shared frames stay while the file is mapped

    def __init__(self, pages: HostPages, fd: int):
        self.pages = pages
        self.identity = pages            # what a futex in the mapping is keyed by
        pages.mapped(fd)
        weakref.finalize(self, pages.unmapped)

    @property
    def bad(self) -> set[int]:
        return self.pages.failed

    def page(self, blockno: int):
        return self.pages.page(blockno)

    def peek(self, blockno: int):
        return self.pages.peek(blockno)

    def prefetch(self, blocks) -> None:
        pass

    def mark_dirty(self, blockno: int) -> None:
        self.pages.mark_dirty(blockno)

    def sync(self):
        """msync(MS_SYNC): the pages were written back as they were passed on."""
        return
        yield
