"""The object store: format, open, allocate and free, read and write whole objects.

    dev = partition_device("disk.img")           # partition 2 of a ukern disk, host side
    store = open(dev)                            # refuses a corrupt header (ObjectStoreError)
    oid = store.allocate(ObjectKind.PAGE)        # a zeroed page; store.capability(oid) names it
    store.write_object(oid, data)                # 4096 bytes: a checkpoint of this one object
    store.read_object(oid)                       # one read of the whole object, checksum checked
    store.free(oid)                              # bumps its version: old capabilities are stale
    store.stats()                                # ranges and objects in use per kind

The on-disk format is described in layout.py, the checkpoint log in log.py.  The store works
on a SectorDevice: 512-byte sectors numbered from the start of the object-store partition.
The maps (bitmaps, versions, checksums) are read once by open and kept in memory; every
change to the store reaches the disk as a checkpoint: the changed objects and map sectors
go to the log, then a commit record, then home.  open() first finds the last committed
checkpoint and copies it home again (recovery), then checks the maps against the CRC the
commit record holds, so a store that opens is exactly its last committed checkpoint.

On the host FileSectorDevice reads an image file at a byte offset; in the kernel, disk.py's
ServerSectorDevice moves the sectors through the object server, which drives the store's
own disk from ring 3: its writes go behind, in order, and the kernel's checkpoints wait
for them (checkpoint.py) before they count anything as on the disk.

Two ways to use it.  On the host (tools, tests) a store opened with autocommit (the
default) makes every allocate, free and write_object its own small checkpoint, done when
the call returns.  The kernel opens it with autocommit=False: allocate and free change only
the maps in memory, and kernel/obj/checkpoint.py captures the dirty objects and the maps
together at one instant and writes them with plan_checkpoint / write_commit.
"""

import os
import struct
import zlib
from dataclasses import dataclass
from typing import Protocol

from kernel.obj import log
from kernel.obj.layout import (
    CAP_TYPE_OF, FIRST_OID, FORMAT_VERSION, HEADER_SIZE, MAGIC, MAX_RANGE_TABLE_SECTORS,
    MIN_CHECKPOINT_SECTORS, NODE_SIZE, NODE_SLOTS, OBJECT_BYTES, OBJECT_SECTORS, PAGE_SECTORS,
    PAGE_SIZE, RANGE_ENTRY_SIZE, SECTOR_SIZE, SUM_SIZE, VERSION_MASK, VERSION_SIZE, Capability,
    CapType, Header, Node, ObjectKind, ObjectStoreError, RangeEntry, Rights, ceil_div,
    header_checksum, node_problem, ranges_problem,
)

RANGE_TABLE_LBA = 1
RANGE_TABLE_SECTORS = 2                  # room for 16 ranges
NODE_OID_ALIGN = 1 << 20                 # the node range starts at a round OID, apart from pages
TABLE_ENTRY = VERSION_SIZE               # bytes of a version-table or checksum-table entry
assert SUM_SIZE == VERSION_SIZE


class SectorDevice(Protocol):
    """What the store needs from a disk: 512-byte sectors of one partition, by number."""

    def read(self, lba: int, count: int) -> bytes: ...

    def write(self, lba: int, data: bytes) -> None: ...   # len(data) a multiple of 512


class FileSectorDevice:
    """A SectorDevice over an image file, starting offset_bytes into it (a partition).

    `reads` and `writes` count the calls, so tests can see that I/O is whole-object.
    """

    def __init__(self, path, offset_bytes: int = 0, sector_count: int | None = None,
                 readonly: bool = False):
        self.path = path
        self.offset = offset_bytes
        self._fd = os.open(path, os.O_RDONLY if readonly else os.O_RDWR)
        if sector_count is None:
            sector_count = (os.fstat(self._fd).st_size - offset_bytes) // SECTOR_SIZE
        self.sector_count = sector_count
        self.reads = self.writes = 0

    def read(self, lba: int, count: int) -> bytes:
        self._check(lba, count)
        self.reads += 1
        data = os.pread(self._fd, count * SECTOR_SIZE, self.offset + lba * SECTOR_SIZE)
        if len(data) != count * SECTOR_SIZE:
            raise OSError(f"{self.path}: sectors {lba}..{lba + count - 1} lie beyond the end of the image")
        return data

    def write(self, lba: int, data: bytes) -> None:
        if len(data) % SECTOR_SIZE:
            raise ValueError(f"write of {len(data)} bytes: not a whole number of sectors")
        self._check(lba, len(data) // SECTOR_SIZE)
        self.writes += 1
        os.pwrite(self._fd, data, self.offset + lba * SECTOR_SIZE)

    def _check(self, lba: int, count: int) -> None:
        if lba < 0 or count < 0 or lba + count > self.sector_count:
            raise OSError(f"{self.path}: sectors {lba}..{lba + count - 1} lie outside the "
                          f"partition of {self.sector_count} sectors")

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def partition_device(image_path, partition: int = 2, readonly: bool = False) -> FileSectorDevice:
    """The object-store partition (number `partition`, type 0xDA) of a ukern disk image."""
    from kernel.tools.mkdisk import OBJECT_STORE_TYPE, partition_offsets
    try:
        parts = partition_offsets(image_path)
    except ValueError as err:                      # not even an MBR
        raise ObjectStoreError(f"not a ukern disk image: {err}") from None
    if not 1 <= partition <= len(parts):
        raise ObjectStoreError(f"{image_path}: no partition {partition} (the disk has {len(parts)})")
    start, size, kind = parts[partition - 1]
    if kind != OBJECT_STORE_TYPE:
        raise ObjectStoreError(f"{image_path}: partition {partition} has type 0x{kind:02x}, "
                               f"not the object store's 0x{OBJECT_STORE_TYPE:02x}")
    return FileSectorDevice(image_path, start, size // SECTOR_SIZE, readonly)


@dataclass
class RangeUsage:
    """One line of stats(): a range and how many of its objects are allocated."""
    start_oid: int
    end_oid: int                         # exclusive
    drive: int
    start_lba: int
    kind: ObjectKind
    object_sectors: int
    count: int
    in_use: int


@dataclass
class StoreStats:
    """What an object store holds, for `ukern objstore` and its tests."""
    generation: int
    total_sectors: int
    ranges: list[RangeUsage]
    capacity: dict[ObjectKind, int]      # objects of each kind
    in_use: dict[ObjectKind, int]
    sequence: int = 0                    # the last committed checkpoint


# ---- formatting ------------------------------------------------------------------------------

def default_checkpoint_sectors(size_sectors: int) -> int:
    """An eighth of the store, even (two halves): each checkpoint may hold a sixteenth."""
    return max(MIN_CHECKPOINT_SECTORS, size_sectors // 16 * 2)


def plan(size_sectors: int, pages: int, nodes: int, checkpoint_sectors: int | None = None,
         drive: int = 0) -> tuple[Header, list[RangeEntry]]:
    """The header (checksum unset) and ranges of a store; ObjectStoreError if it does not fit.

    A kind with no objects gets no range.
    """
    if pages < 0 or nodes < 0:
        raise ObjectStoreError(f"negative object count ({pages} pages, {nodes} nodes)")
    if checkpoint_sectors is None:
        checkpoint_sectors = default_checkpoint_sectors(size_sectors)
    if checkpoint_sectors < MIN_CHECKPOINT_SECTORS:
        raise ObjectStoreError(f"a checkpoint area of {checkpoint_sectors} sectors is too small "
                               f"(at least {MIN_CHECKPOINT_SECTORS})")
    header = Header(magic=MAGIC, version=FORMAT_VERSION, header_size=HEADER_SIZE,
                    sector_size=SECTOR_SIZE, page_size=PAGE_SIZE, node_slots=NODE_SLOTS,
                    node_size=NODE_SIZE, total_sectors=size_sectors,
                    range_table_lba=RANGE_TABLE_LBA, range_table_sectors=RANGE_TABLE_SECTORS,
                    generation=1)
    page_oids = (FIRST_OID, FIRST_OID + pages)
    node_start = ceil_div(page_oids[1], NODE_OID_ALIGN) * NODE_OID_ALIGN
    wanted = [(kind, span) for kind, span in ((ObjectKind.PAGE, page_oids),
                                              (ObjectKind.NODE, (node_start, node_start + nodes)))
              if span[1] > span[0]]
    ranges = [RangeEntry(start_oid=start, end_oid=end, drive=drive, kind=kind,
                         object_sectors=OBJECT_SECTORS[kind]) for kind, (start, end) in wanted]
    lba = header.map_lba = RANGE_TABLE_LBA + RANGE_TABLE_SECTORS
    for entry in ranges:
        entry.bitmap_lba = lba
        lba += entry.bitmap_sectors
        entry.versions_lba = lba
        lba += entry.versions_sectors
        entry.sums_lba = lba
        lba += entry.sums_sectors
    header.map_sectors = lba - header.map_lba
    header.checkpoint_lba, header.checkpoint_sectors = lba, checkpoint_sectors
    lba += checkpoint_sectors
    lba = ceil_div(lba, PAGE_SECTORS) * PAGE_SECTORS
    for entry in ranges:
        entry.start_lba = lba
        lba += entry.sectors
    if lba > size_sectors:
        raise ObjectStoreError(f"{pages} pages and {nodes} nodes need {lba} sectors; the "
                               f"object store has {size_sectors}")
    if not log_fits(header, 1, 0):
        raise ObjectStoreError(f"a checkpoint area of {checkpoint_sectors} sectors cannot hold "
                               f"the {header.map_sectors} sectors of maps and one page")
    header.range_count = len(ranges)
    return header, ranges


def log_fits(header: Header, pages: int, nodes: int) -> bool:
    """Whether one checkpoint of this many objects fits a half of the checkpoint area, with
    every sector of the maps in it too (the most a checkpoint can change of them)."""
    entries = pages + nodes + header.map_sectors
    data = pages * PAGE_SECTORS + nodes * OBJECT_SECTORS[ObjectKind.NODE] + header.map_sectors
    return log.sectors_needed(entries, data) <= log.half_sectors(header.checkpoint_sectors)


def capacity(size_sectors: int, checkpoint_sectors: int | None = None) -> int:
    """The largest n such that n pages and n nodes fit in a store of size_sectors."""
    def fits(n: int) -> bool:
        try:
            plan(size_sectors, n, n, checkpoint_sectors)
            return True
        except ObjectStoreError:
            return False
    low, high = 0, size_sectors // (PAGE_SECTORS + OBJECT_SECTORS[ObjectKind.NODE]) + 1
    while low + 1 < high:                          # fits(low), not fits(high)
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


def format(dev: SectorDevice, size_sectors: int, pages: int | None = None,
           nodes: int | None = None, checkpoint_sectors: int | None = None) -> "ObjectStore":
    """Write an empty store of size_sectors on dev: header, ranges, zeroed maps, and an
    empty checkpoint 1 committed in the checkpoint area.

    pages and nodes default to capacity(): as many of each as fit.  The object areas are
    not written (allocation makes each object afresh).  Returns the store, opened.
    """
    if pages is None or nodes is None:
        most = capacity(size_sectors, checkpoint_sectors)
        pages = most if pages is None else pages
        nodes = most if nodes is None else nodes
    header, ranges = plan(size_sectors, pages, nodes, checkpoint_sectors)
    table = bytearray(RANGE_TABLE_SECTORS * SECTOR_SIZE)
    for number, entry in enumerate(ranges):
        table[number * RANGE_ENTRY_SIZE:(number + 1) * RANGE_ENTRY_SIZE] = bytes(entry)
    header.checksum = header_checksum(bytes(header), bytes(table))
    maps = bytes(header.map_sectors * SECTOR_SIZE)
    dev.write(header.map_lba, maps)
    dev.write(header.checkpoint_lba, bytes(header.checkpoint_sectors * SECTOR_SIZE))
    first = log.build(header.checkpoint_lba, header.checkpoint_sectors, 1, [], zlib.crc32(maps))
    dev.write(first.half_lba, first.record)
    dev.write(0, bytes(header) + bytes(table))     # the header last: a half format is no store
    return open(dev)


def format_image(image_path, offset_bytes: int, size_sectors: int,
                 objects: int | None = None, checkpoint_sectors: int | None = None) -> "ObjectStore":
    """Format the store in an image file at offset_bytes (mkdisk: partition 2).

    objects: how many pages and how many nodes; None = as many as fit.
    """
    with FileSectorDevice(image_path, offset_bytes, size_sectors) as dev:
        return format(dev, size_sectors, objects, objects, checkpoint_sectors)


# ---- the store -------------------------------------------------------------------------------

def open(dev: SectorDevice, replay: bool = True, autocommit: bool = True) -> "ObjectStore":
    """Read and check the header, range table, last checkpoint and maps of the store on dev.
    replay=False leaves the disk untouched: the committed log is read over the home
    locations instead of being copied there (`ukern objstore check`, `list`)."""
    return ObjectStore.open(dev, replay, autocommit)


def read_header(dev: SectorDevice) -> tuple[Header, list[RangeEntry]]:
    """The header and range table, checked (ObjectStoreError with the reason if not sane)."""
    sector = dev.read(0, 1)
    header = Header.from_buffer_copy(sector)
    if header.magic != MAGIC:
        raise ObjectStoreError(f"not an object store: bad magic {bytes(header.magic)!r} "
                               f"(expected {MAGIC!r})")
    size = getattr(dev, "sector_count", None)
    lba, count = header.range_table_lba, header.range_table_sectors
    if not (1 <= lba and 1 <= count <= MAX_RANGE_TABLE_SECTORS
            and (size is None or lba + count <= size)):
        raise ObjectStoreError(f"corrupt object-store header: range table at LBA {lba} (+{count})")
    table = dev.read(lba, count)
    expected = header_checksum(sector, table)          # checked before any other field
    if header.checksum != expected:
        raise ObjectStoreError(
            f"corrupt object-store header: checksum 0x{header.checksum:08x} does not match "
            f"0x{expected:08x} (the header or the range table is damaged)")
    why = header.problem()
    if why:
        raise ObjectStoreError(why)
    if size is not None and header.total_sectors > size:
        raise ObjectStoreError(f"corrupt object-store header: the store claims "
                               f"{header.total_sectors} sectors; the partition has {size}")
    ranges = [RangeEntry.from_buffer_copy(table, n * RANGE_ENTRY_SIZE)
              for n in range(header.range_count)]
    why = ranges_problem(header, ranges)
    if why:
        raise ObjectStoreError(f"corrupt object-store range table: {why}")
    for entry in ranges:
        for lba, count in ((entry.bitmap_lba, entry.bitmap_sectors),
                           (entry.versions_lba, entry.versions_sectors),
                           (entry.sums_lba, entry.sums_sectors)):
            if not header.map_lba <= lba <= lba + count <= header.map_lba + header.map_sectors:
                raise ObjectStoreError(f"corrupt object-store range table: a map at LBA {lba} "
                                       f"lies outside the map area")
    return header, ranges


class ObjectStore:
    def __init__(self, dev: SectorDevice, header: Header, ranges: list[RangeEntry],
                 maps: bytearray, sequence: int, autocommit: bool = True,
                 overlay: dict[int, bytes] | None = None, pending: int = 0):
        self.dev = dev
        self.header = header
        self.ranges = ranges
        self.maps = maps                       # the whole map area, as the next checkpoint has it
        self.dirty_maps: set[int] = set()      # LBAs of map sectors changed since the last capture
        self.sequence = sequence               # the last committed checkpoint
        self.autocommit = autocommit
        self.overlay = overlay or {}           # home LBA -> committed data not yet copied home
        self.replayed = pending                # log entries recovery found (copied home or overlaid)
        self._in_use = [used_bits(self.map_area(e.bitmap_lba, e.bitmap_sectors), e.count) for e in ranges]
        self._hint = [0] * len(ranges)         # no free object below this index
        self.freed: set[int] = set()           # freed since the last capture: not reused yet
        self.freed_captured: set[int] = set()  # freed before the checkpoint being written

    @classmethod
    def open(cls, dev: SectorDevice, replay: bool = True, autocommit: bool = True) -> "ObjectStore":
        header, ranges = read_header(dev)
        record = log.last_committed(dev, header.checkpoint_lba, header.checkpoint_sectors)
        entries = log.read_log(dev, header.checkpoint_lba, header.checkpoint_sectors, record)
        overlay = {}
        for number, entry in enumerate(entries):                # all checked before any is copied
            why = entry_problem(header, ranges, entry)
            if why:
                raise ObjectStoreError(f"checkpoint {record.sequence}: log entry {number}: {why}")
        for entry in entries:
            if replay:
                dev.write(entry.home_lba, entry.data)          # recovery: the log, home again
            else:
                overlay[entry.home_lba] = entry.data
        maps = bytearray(dev.read(header.map_lba, header.map_sectors))
        for lba, data in overlay.items():
            if header.map_lba <= lba < header.map_lba + header.map_sectors:
                start = (lba - header.map_lba) * SECTOR_SIZE
                maps[start:start + SECTOR_SIZE] = data
        if zlib.crc32(maps) != record.maps_crc:
            raise ObjectStoreError(f"corrupt allocation maps: their CRC 0x{zlib.crc32(maps):08x} is "
                                   f"not checkpoint {record.sequence}'s 0x{record.maps_crc:08x}")
        return cls(dev, header, ranges, maps, record.sequence, autocommit, overlay, len(entries))

    # -- the maps -------------------------------------------------------------------------------

    def map_area(self, lba: int, sectors: int) -> memoryview:
        start = (lba - self.header.map_lba) * SECTOR_SIZE
        return memoryview(self.maps)[start:start + sectors * SECTOR_SIZE]

    def _table_word(self, table_lba: int, index: int) -> int:
        """Entry `index` of a version or checksum table (both of uint32 entries)."""
        return struct.unpack_from("<I", self.maps, (table_lba - self.header.map_lba) * SECTOR_SIZE
                                  + index * TABLE_ENTRY)[0]

    def _set_table_word(self, table_lba: int, index: int, value: int) -> None:
        offset = (table_lba - self.header.map_lba) * SECTOR_SIZE + index * TABLE_ENTRY
        struct.pack_into("<I", self.maps, offset, value)
        self.dirty_maps.add(self.header.map_lba + offset // SECTOR_SIZE)

    # -- naming -------------------------------------------------------------------------------

    def _find(self, oid: int) -> int:
        for number, entry in enumerate(self.ranges):
            if entry.contains(oid):
                return number
        raise ObjectStoreError(f"OID {oid:#x} is in no range of the object store")

    def locate(self, oid: int) -> tuple[RangeEntry, int]:
        """The range holding oid, and the LBA of the object (its range's drive, partition-relative)."""
        entry = self.ranges[self._find(oid)]
        return entry, entry.lba_of(oid)

    def kind(self, oid: int) -> ObjectKind:
        return ObjectKind(self.ranges[self._find(oid)].kind)

    def is_allocated(self, oid: int) -> bool:
        entry = self.ranges[self._find(oid)]
        index = oid - entry.start_oid
        return bool(self.map_area(entry.bitmap_lba, entry.bitmap_sectors)[index // 8] >> (index % 8) & 1)

    def version(self, oid: int) -> int:
        """The object's allocation count: bumped each time it is freed."""
        entry = self.ranges[self._find(oid)]
        return self._table_word(entry.versions_lba, oid - entry.start_oid)

    def checksum(self, oid: int) -> int:
        """The CRC-32 of the object as its last checkpoint wrote it (whole sectors)."""
        entry = self.ranges[self._find(oid)]
        return self._table_word(entry.sums_lba, oid - entry.start_oid)

    def capability(self, oid: int, rights: Rights = Rights.NONE) -> Capability:
        """A capability to an allocated object, carrying its current version."""
        self._check_allocated(oid)
        return Capability(oid=oid, version=self.version(oid),
                          type=CAP_TYPE_OF[self.kind(oid)], rights=rights)

    def is_current(self, cap: Capability) -> bool:
        """Whether cap still designates its object: allocated, and the version matches."""
        if cap.type not in (CapType.PAGE, CapType.NODE):
            raise ObjectStoreError(f"{cap!r} does not designate a stored object")
        try:
            return self.is_allocated(cap.oid) and self.version(cap.oid) == cap.version
        except ObjectStoreError:
            return False

    # -- allocation ---------------------------------------------------------------------------

    def allocate(self, kind: ObjectKind) -> int:
        """Allocate an object of this kind, zeroed (a node holds its OID, version and 32
        void slots, see fresh()).  With autocommit it is a checkpoint of its own.  Without
        (the kernel), the fresh object is written home now and its checksum entry set in
        the maps, which the next checkpoint commits.  That write is safe because the OID
        is free in the last committed checkpoint and in any being written: an OID freed
        since is not handed out again until a checkpoint taken after the free is home."""
        kind = ObjectKind(kind)
        for number, entry in enumerate(self.ranges):
            if entry.kind != kind:
                continue
            bitmap = self.map_area(entry.bitmap_lba, entry.bitmap_sectors)
            index = first_clear_bit(bitmap, self._hint[number], entry.count)
            while index >= 0 and entry.start_oid + index in self.freed | self.freed_captured:
                index = first_clear_bit(bitmap, index + 1, entry.count)
            if index < 0:
                continue
            oid = entry.start_oid + index
            data = log.padded(self.fresh(oid, kind, self.version(oid)), entry.object_sectors)
            if not self.autocommit:
                # Home first, maps after: a checkpoint captured while this write runs (the
                # kernel's loop turns meanwhile) sees the object still free.
                self.dev.write(entry.lba_of(oid), data)
                self._set_table_word(entry.sums_lba, index, zlib.crc32(data))
            self._set_bit(number, index, True)
            self._hint[number] = index + 1
            if self.autocommit:
                self.commit({oid: data[:OBJECT_BYTES[kind]]})
            return oid
        raise ObjectStoreError(f"object store full: no free {kind.name.lower()}")

    def free(self, oid: int) -> None:
        """Destroy an object: bump its version (revoking every capability to it), then free it."""
        number = self._find(oid)
        self._check_allocated(oid)
        entry = self.ranges[number]
        index = oid - entry.start_oid
        self._set_table_word(entry.versions_lba, index,
                             (self._table_word(entry.versions_lba, index) + 1) & VERSION_MASK)
        self._set_bit(number, index, False)
        self._hint[number] = min(self._hint[number], index)
        self.freed.add(oid)
        if self.autocommit:
            self.commit({})

    @staticmethod
    def fresh(oid: int, kind: ObjectKind, version: int) -> bytes:
        """What a just-allocated object holds."""
        if kind == ObjectKind.NODE:
            return bytes(Node(oid=oid, version=version))
        return bytes(PAGE_SIZE)

    # -- object I/O ---------------------------------------------------------------------------

    def read_object(self, oid: int) -> bytes:
        """The whole object, in one read: PAGE_SIZE bytes of a page, NODE_SIZE of a node.
        ObjectStoreError if it does not match its checksum (or, a node, its OID)."""
        self._check_allocated(oid)
        entry, lba = self.locate(oid)
        data = self.overlay.get(lba)
        if data is None:
            data = self.dev.read(lba, entry.object_sectors)
        if zlib.crc32(data) != self.checksum(oid):
            raise ObjectStoreError(f"{ObjectKind(entry.kind).name.lower()} {oid:#x} fails its "
                                   f"checksum (damaged on the disk)")
        data = data[:OBJECT_BYTES[ObjectKind(entry.kind)]]
        if entry.kind == ObjectKind.NODE:
            why = node_problem(Node.from_buffer_copy(data), oid, self.version(oid))
            if why:
                raise ObjectStoreError(f"corrupt {why}")
        return data

    def read_node(self, oid: int) -> Node:
        return Node.from_buffer_copy(self.read_object(oid))

    def write_object(self, oid: int, data: bytes) -> None:
        """Replace the whole object (autocommit: as a checkpoint of its own)."""
        self._check_allocated(oid)
        entry, _ = self.locate(oid)
        kind = ObjectKind(entry.kind)
        data = bytes(data)
        if len(data) != OBJECT_BYTES[kind]:
            raise ObjectStoreError(f"a {kind.name.lower()} is {OBJECT_BYTES[kind]} bytes, "
                                   f"not {len(data)}")
        if kind == ObjectKind.NODE and Node.from_buffer_copy(data).oid != oid:
            raise ObjectStoreError(f"node record for OID {oid:#x} carries OID "
                                   f"{Node.from_buffer_copy(data).oid:#x}")
        if not self.autocommit:
            raise ObjectStoreError("the kernel writes objects by checkpoints (kernel/obj/checkpoint.py)")
        self.commit({oid: data})

    # -- checkpoints (log.py) -------------------------------------------------------------------

    def fits(self, pages: int, nodes: int) -> bool:
        """Whether a checkpoint of this many objects fits the log."""
        return log_fits(self.header, pages, nodes)

    def plan_checkpoint(self, objects: list[tuple[int, int, bytes | None]]) -> log.Checkpoint:
        """The next checkpoint, of these objects ((oid, CRC of its padded sectors, data or
        None when the caller writes it from a frame)) and of the maps as they are now:
        their checksum entries are set first, then every dirty map sector is copied."""
        if not self.fits(sum(self.kind(o) == ObjectKind.PAGE for o, _, _ in objects),
                         sum(self.kind(o) == ObjectKind.NODE for o, _, _ in objects)):
            raise ObjectStoreError(f"a checkpoint of {len(objects)} objects does not fit the log")
        entries = []
        for oid, crc, data in objects:
            number = self._find(oid)
            entry = self.ranges[number]
            self._set_table_word(entry.sums_lba, oid - entry.start_oid, crc)
            kind = log.EntryKind.PAGE if entry.kind == ObjectKind.PAGE else log.EntryKind.NODE
            entries.append(log.Entry(kind, oid, entry.lba_of(oid), entry.object_sectors, crc,
                                     None if data is None else log.padded(data, entry.object_sectors)))
        for lba in sorted(self.dirty_maps):
            start = (lba - self.header.map_lba) * SECTOR_SIZE
            sector = bytes(self.maps[start:start + SECTOR_SIZE])
            entries.append(log.Entry(log.EntryKind.MAP, 0, lba, 1, zlib.crc32(sector), sector))
        self.dirty_maps.clear()
        self.freed_captured |= self.freed
        self.freed.clear()
        return log.build(self.header.checkpoint_lba, self.header.checkpoint_sectors,
                         self.sequence + 1, entries, zlib.crc32(self.maps))

    def write_commit(self, checkpoint: log.Checkpoint) -> None:
        """Every entry is in the log: write the directory, then the commit record."""
        if checkpoint.directory:
            self.dev.write(checkpoint.directory_lba, checkpoint.directory)
        self.dev.write(checkpoint.half_lba, checkpoint.record)
        self.sequence = checkpoint.sequence

    def migrated(self) -> None:
        """The committed checkpoint is home: what was freed before it may be reused."""
        self.overlay.clear()
        self.freed_captured.clear()

    def commit(self, objects: dict[int, bytes]) -> int:
        """A whole checkpoint of these objects and the maps, synchronously: log, commit,
        home.  Returns its sequence number."""
        planned = []
        for oid, data in objects.items():
            sectors = self.locate(oid)[0].object_sectors
            planned.append((oid, zlib.crc32(log.padded(data, sectors)), data))
        checkpoint = self.plan_checkpoint(planned)
        for entry in checkpoint.entries:
            self.dev.write(entry.log_lba, entry.data)
        self.write_commit(checkpoint)
        for entry in checkpoint.entries:
            self.dev.write(entry.home_lba, entry.data)
        self.migrated()
        return checkpoint.sequence

    # -- statistics ---------------------------------------------------------------------------

    def stats(self) -> StoreStats:
        usage = [RangeUsage(entry.start_oid, entry.end_oid, entry.drive, entry.start_lba,
                            ObjectKind(entry.kind), entry.object_sectors, entry.count, used)
                 for entry, used in zip(self.ranges, self._in_use)]
        capacity = {kind: 0 for kind in ObjectKind}
        in_use = {kind: 0 for kind in ObjectKind}
        for line in usage:
            capacity[line.kind] += line.count
            in_use[line.kind] += line.in_use
        return StoreStats(self.header.generation, self.header.total_sectors, usage, capacity,
                          in_use, self.sequence)

    # -- helpers ------------------------------------------------------------------------------

    def _check_allocated(self, oid: int) -> None:
        if not self.is_allocated(oid):
            raise ObjectStoreError(f"OID {oid:#x} is not allocated")

    def _set_bit(self, number: int, index: int, value: bool) -> None:
        entry = self.ranges[number]
        bitmap = self.map_area(entry.bitmap_lba, entry.bitmap_sectors)
        if value:
            bitmap[index // 8] |= 1 << (index % 8)
        else:
            bitmap[index // 8] &= ~(1 << (index % 8)) & 0xFF
        self._in_use[number] += 1 if value else -1
        self.dirty_maps.add(entry.bitmap_lba + index // 8 // SECTOR_SIZE)


def entry_problem(header: Header, ranges: list[RangeEntry], entry: log.Entry) -> str | None:
    """Why a log entry cannot be copied home (it names a home that is not its own), or None."""
    if entry.kind == log.EntryKind.MAP:
        if entry.sectors != 1 or not header.map_lba <= entry.home_lba < header.map_lba + header.map_sectors:
            return f"a map sector for LBA {entry.home_lba} (+{entry.sectors}) outside the maps"
        return None
    kind = ObjectKind.PAGE if entry.kind == log.EntryKind.PAGE else ObjectKind.NODE
    home = next((r for r in ranges if r.contains(entry.oid)), None)
    if home is None or home.kind != kind or home.lba_of(entry.oid) != entry.home_lba \
            or entry.sectors != home.object_sectors:
        return f"{kind.name.lower()} {entry.oid:#x} with home LBA {entry.home_lba} is not where that object lives"
    return None


def used_bits(bitmap: bytes, count: int) -> int:
    return (int.from_bytes(bitmap, "little") & ((1 << count) - 1)).bit_count()


def first_clear_bit(bitmap: bytes, start: int, limit: int) -> int:
    """Index of the first clear bit in [start, limit), or -1 (bits LSB first)."""
    for byte_index in range(start // 8, ceil_div(limit, 8)):
        byte = bitmap[byte_index]
        if byte != 0xFF:
            for bit in range(8):
                index = byte_index * 8 + bit
                if start <= index < limit and not byte >> bit & 1:
                    return index
    return -1
