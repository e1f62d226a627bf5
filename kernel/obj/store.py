"""The object store: format, open, allocate and free, read and write whole objects.

    dev = partition_device("disk.img")           # partition 2 of a ukern disk, host side
    store = open(dev)                            # refuses a corrupt header (ObjectStoreError)
    oid = store.allocate(ObjectKind.PAGE)        # a zeroed page; store.capability(oid) names it
    store.write_object(oid, data)                # 4096 bytes, to its home location
    store.read_object(oid)                       # one read of the whole object
    store.free(oid)                              # bumps its version: old capabilities are stale
    store.stats()                                # ranges and objects in use per kind

The on-disk format is described in layout.py.  The store works on a SectorDevice: 512-byte
sectors numbered from the start of the object-store partition.  Every call reads or writes
whole objects, or the one sector of an allocation map that changed; nothing is cached
except the maps (read once by open) and the header, so each write is at its home location
when the call returns.  On the host FileSectorDevice reads an image file at a byte offset;
in the kernel, disk.py's ServerSectorDevice moves the sectors through the object server,
which drives the store's own disk from ring 3 (writes go behind: "at its home location"
then means "queued for it, in order").

Crash order: allocate writes the zeroed object, then its bitmap sector; free writes the
bumped version, then the bitmap sector.  A crash in between leaks an object at worst, and
never hands out an object that a stale capability could still reach.
"""

import os
import struct
from dataclasses import dataclass
from typing import Protocol

from kernel.obj.layout import (
    CAP_TYPE_OF, FIRST_OID, FORMAT_VERSION, HEADER_SIZE, MAGIC, MAX_RANGE_TABLE_SECTORS,
    NODE_SIZE, NODE_SLOTS, OBJECT_BYTES, OBJECT_SECTORS, PAGE_SECTORS, PAGE_SIZE,
    RANGE_ENTRY_SIZE, SECTOR_SIZE, VERSION_MASK, VERSION_SIZE, Capability, CapType, Header,
    Node, ObjectKind, RangeEntry, Rights, ceil_div, header_checksum, ranges_problem,
)

RANGE_TABLE_LBA = 1
RANGE_TABLE_SECTORS = 2                  # room for 16 ranges
NODE_OID_ALIGN = 1 << 20                 # the node range starts at a round OID, apart from pages


class ObjectStoreError(ValueError):
    """The store is corrupt, full, or asked for something it does not hold."""


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


# ---- formatting ------------------------------------------------------------------------------

def plan(size_sectors: int, pages: int, nodes: int, checkpoint_sectors: int = 0,
         drive: int = 0) -> tuple[Header, list[RangeEntry]]:
    """The header (checksum unset) and ranges of a store; ObjectStoreError if it does not fit.

    A kind with no objects gets no range.
    """
    if pages < 0 or nodes < 0:
        raise ObjectStoreError(f"negative object count ({pages} pages, {nodes} nodes)")
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
    header.map_sectors = lba - header.map_lba
    if checkpoint_sectors:
        header.checkpoint_lba, header.checkpoint_sectors = lba, checkpoint_sectors
        lba += checkpoint_sectors
    lba = ceil_div(lba, PAGE_SECTORS) * PAGE_SECTORS
    for entry in ranges:
        entry.start_lba = lba
        lba += entry.sectors
    if lba > size_sectors:
        raise ObjectStoreError(f"{pages} pages and {nodes} nodes need {lba} sectors; the "
                               f"object store has {size_sectors}")
    header.range_count = len(ranges)
    return header, ranges


def capacity(size_sectors: int, checkpoint_sectors: int = 0) -> int:
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
           nodes: int | None = None, checkpoint_sectors: int = 0) -> "ObjectStore":
    """Write an empty store of size_sectors on dev: header, ranges, zeroed maps.

    pages and nodes default to capacity(): as many of each as fit.  The object areas are
    not written (allocate zeroes each object).  Returns the store, opened.
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
    dev.write(header.map_lba, bytes(header.map_sectors * SECTOR_SIZE))
    if header.checkpoint_sectors:
        dev.write(header.checkpoint_lba, bytes(header.checkpoint_sectors * SECTOR_SIZE))
    dev.write(0, bytes(header) + bytes(table))     # the header last: a half format is no store
    return open(dev)


def format_image(image_path, offset_bytes: int, size_sectors: int,
                 objects: int | None = None) -> "ObjectStore":
    """Format the store in an image file at offset_bytes (mkdisk: partition 2).

    objects: how many pages and how many nodes; None = as many as fit.
    """
    with FileSectorDevice(image_path, offset_bytes, size_sectors) as dev:
        return format(dev, size_sectors, objects, objects)


# ---- the store -------------------------------------------------------------------------------

def open(dev: SectorDevice) -> "ObjectStore":
    """Read and check the header, range table and allocation maps of the store on dev."""
    return ObjectStore.open(dev)


class ObjectStore:
    def __init__(self, dev: SectorDevice, header: Header, ranges: list[RangeEntry],
                 bitmaps: list[bytearray], versions: list[bytearray]):
        self.dev = dev
        self.header = header
        self.ranges = ranges
        self._bitmaps = bitmaps                # per range, whole sectors, as on the disk
        self._versions = versions
        self._in_use = [used_bits(bitmap, entry.count) for bitmap, entry in zip(bitmaps, ranges)]
        self._hint = [0] * len(ranges)         # no free object below this index

    @classmethod
    def open(cls, dev: SectorDevice) -> "ObjectStore":
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
        maps = dev.read(header.map_lba, header.map_sectors) if header.map_sectors else b""

        def area(lba: int, sectors: int) -> bytearray:
            start = (lba - header.map_lba) * SECTOR_SIZE
            if lba < header.map_lba or start + sectors * SECTOR_SIZE > len(maps):
                raise ObjectStoreError(f"corrupt object-store range table: a map at LBA {lba} "
                                       f"lies outside the map area")
            return bytearray(maps[start:start + sectors * SECTOR_SIZE])
        bitmaps = [area(entry.bitmap_lba, entry.bitmap_sectors) for entry in ranges]
        versions = [area(entry.versions_lba, entry.versions_sectors) for entry in ranges]
        return cls(dev, header, ranges, bitmaps, versions)

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
        number = self._find(oid)
        index = oid - self.ranges[number].start_oid
        return bool(self._bitmaps[number][index // 8] >> (index % 8) & 1)

    def version(self, oid: int) -> int:
        """The object's allocation count: bumped each time it is freed."""
        number = self._find(oid)
        return struct.unpack_from("<I", self._versions[number],
                                  (oid - self.ranges[number].start_oid) * VERSION_SIZE)[0]

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
        """Allocate a zeroed object of this kind (a node holds its OID and 32 void slots)."""
        kind = ObjectKind(kind)
        for number, entry in enumerate(self.ranges):
            if entry.kind != kind:
                continue
            index = first_clear_bit(self._bitmaps[number], self._hint[number], entry.count)
            if index < 0:
                continue
            oid = entry.start_oid + index
            self._write_home(entry, oid, self._fresh(kind, oid, self._version_at(number, index)))
            self._set_bit(number, index, True)
            self._hint[number] = index + 1
            return oid
        raise ObjectStoreError(f"object store full: no free {kind.name.lower()}")

    def free(self, oid: int) -> None:
        """Destroy an object: bump its version (revoking every capability to it), then free it."""
        number = self._find(oid)
        self._check_allocated(oid)
        index = oid - self.ranges[number].start_oid
        offset = index * VERSION_SIZE
        struct.pack_into("<I", self._versions[number], offset,
                         (self._version_at(number, index) + 1) & VERSION_MASK)
        sector = offset // SECTOR_SIZE
        self.dev.write(self.ranges[number].versions_lba + sector,
                       bytes(self._versions[number][sector * SECTOR_SIZE:(sector + 1) * SECTOR_SIZE]))
        self._set_bit(number, index, False)
        self._hint[number] = min(self._hint[number], index)

    # -- object I/O ---------------------------------------------------------------------------

    def read_object(self, oid: int) -> bytes:
        """The whole object, in one read: PAGE_SIZE bytes of a page, NODE_SIZE of a node."""
        self._check_allocated(oid)
        entry, lba = self.locate(oid)
        return self.dev.read(lba, entry.object_sectors)[:OBJECT_BYTES[ObjectKind(entry.kind)]]

    def read_node(self, oid: int) -> Node:
        return Node.from_buffer_copy(self.read_object(oid))

    def write_object(self, oid: int, data: bytes) -> None:
        """Write the whole object to its home location, in one write."""
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
        self._write_home(entry, oid, data)

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
        return StoreStats(self.header.generation, self.header.total_sectors, usage, capacity, in_use)

    # -- helpers ------------------------------------------------------------------------------

    def _check_allocated(self, oid: int) -> None:
        if not self.is_allocated(oid):
            raise ObjectStoreError(f"OID {oid:#x} is not allocated")

    def _version_at(self, number: int, index: int) -> int:
        return struct.unpack_from("<I", self._versions[number], index * VERSION_SIZE)[0]

    @staticmethod
    def _fresh(kind: ObjectKind, oid: int, version: int) -> bytes:
        if kind == ObjectKind.NODE:
            return bytes(Node(oid=oid, version=version))
        return bytes(PAGE_SIZE)

    def _write_home(self, entry: RangeEntry, oid: int, data: bytes) -> None:
        padded = data + bytes(entry.object_sectors * SECTOR_SIZE - len(data))
        self.dev.write(entry.lba_of(oid), padded)

    def _set_bit(self, number: int, index: int, value: bool) -> None:
        bitmap = self._bitmaps[number]
        if value:
            bitmap[index // 8] |= 1 << (index % 8)
        else:
            bitmap[index // 8] &= ~(1 << (index % 8)) & 0xFF
        self._in_use[number] += 1 if value else -1
        sector = index // 8 // SECTOR_SIZE
        self.dev.write(self.ranges[number].bitmap_lba + sector,
                       bytes(bitmap[sector * SECTOR_SIZE:(sector + 1) * SECTOR_SIZE]))


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
