"""The buffer cache's pieces (bcache.py): a Buffer (a run of cached blocks in contiguous
frames), Segments (held runs as physical pieces), the BlockIndex that finds the buffer of
a block, and runs_of (block numbers as runs)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort

from kernel.dev.blk import BlockRequest


class Buffer:
    """Blocks n .. n+count-1, at physical addresses frame, frame+size, ..."""
    __slots__ = ('size', 'n', 'count', 'frame', 'nframes', 'valid', 'dirty', 'version', 'io',
                 'readahead', 'once', 'dirtied_at', 'users', 'meta', 'wanted')

    def __init__(self, size: int, n: int, count: int, frame: int, nframes: int):
        self.size = size
        self.n = n
        self.count = count
        self.frame = frame
        self.nframes = nframes
        self.valid = False          # holds the blocks' data
        self.dirty = False          # newer than the disk
        self.version = 0            # bumped by every write
        self.io: BlockRequest | None = None     # the read or write in flight
        self.readahead = False      # read ahead of need, and not used yet
        self.once = False           # read ahead for a stream that has not read past it yet
        self.dirtied_at = 0         # virtual time it became dirty (for writeback by age)
        self.users = 0              # readers copying out of it right now
        self.meta = False           # dirty with metadata: written after dirty contents
        self.wanted = False         # a page fault waits for it: reclaim passes it once

    @property
    def idle(self) -> bool:
        return self.io is None

    @property
    def end(self) -> int:
        return self.n + self.count

    def addr(self, n: int) -> int:
        """Physical address of block n's bytes."""
        return self.frame + (n - self.n) * self.size


class Segments(list):
    """(physical address or None for a hole's zeros, byte count) pieces of held runs;
    `held` lists the buffers to give back with BufferCache.release."""
    held: list

    def window(self, skip: int, nbytes: int) -> 'Segments':
        """The pieces of bytes skip..skip+nbytes (the same buffers held)."""
        out = Segments()
        out.held = self.held
        for addr, size in self:
            if skip >= size:
                skip -= size
                continue
            take = min(size - skip, nbytes)
            out.append((None if addr is None else addr + skip, take))
            nbytes -= take
            skip = 0
            if not nbytes:
                break
        return out


class BlockIndex:
    """Which buffer holds block n.  Buffers never overlap, so a sorted list of their
    first blocks answers by bisection."""

    def __init__(self):
        self._starts: list[int] = []
        self._bufs: dict[int, Buffer] = {}      # first block -> buffer
        self.blocks = 0                         # blocks in all the buffers

    def get(self, n: int) -> Buffer | None:
        i = bisect_right(self._starts, n) - 1
        if i >= 0:
            buf = self._bufs[self._starts[i]]
            if n < buf.end:
                return buf
        return None

    def add(self, buf: Buffer) -> None:
        insort(self._starts, buf.n)
        self._bufs[buf.n] = buf
        self.blocks += buf.count

    def remove(self, buf: Buffer) -> None:
        del self._starts[bisect_left(self._starts, buf.n)]
        del self._bufs[buf.n]
        self.blocks -= buf.count

    def overlapping(self, first: int, end: int) -> list[Buffer]:
        """The buffers holding any of blocks first..end-1, in block order."""
        i = max(0, bisect_right(self._starts, first) - 1)
        out = []
        for start in self._starts[i:]:
            if start >= end:
                break
            buf = self._bufs[start]
            if buf.end > first:
                out.append(buf)
        return out

    def next_cached(self, n: int, end: int) -> int:
        """The first block in n..end-1 that some buffer holds, or end."""
        if self.get(n) is not None:
            return n
        i = bisect_left(self._starts, n)
        return min(self._starts[i], end) if i < len(self._starts) else end


def runs_of(blocknos) -> list[list[int]]:
    """Block numbers as runs [first, count] of consecutive ones, in the order given."""
    runs: list[list[int]] = []
    for n in blocknos:
        if runs and runs[-1][0] + runs[-1][1] == n:
            runs[-1][1] += 1
        else:
            runs.append([n, 1])
    return runs
