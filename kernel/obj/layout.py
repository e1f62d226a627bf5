"""Object-store on-disk layout: the header, the range table, nodes and capabilities.

Everything here is a fixed-size little-endian record as it sits on the disk; store.py does
the I/O and views sectors through these ctypes structures.  Nothing here does I/O.

The store lives in partition 2 of a ukern disk (MBR type 0xDA).  As in EROS, every object
is named by a 64-bit OID, and a table of ranges (start OID, end OID, drive, start LBA) says
where each run of consecutive OIDs lives: the object with OID o of a range is at sector
start_lba + (o - start_oid) * object_sectors.  OIDs are names, not addresses: a range can
start at any OID, and OID 0 is never used (it means "no object").

Partition picture (LBAs are sectors of 512 bytes from the start of the partition):

    LBA 0                header (one sector, Header)
    range_table_lba      range table: range_table_sectors sectors of RangeEntry records;
                         range_count of them are used, the rest are zero
    map_lba              allocation maps, map_sectors long: per range a bitmap (bit i set =
                         object start_oid + i allocated; LSB first, like ext2) at bitmap_lba,
                         a version table (one uint32 per object) at versions_lba, and a
                         checksum table (CRC-32 of each object as it is at home) at sums_lba
    checkpoint_lba       the checkpoint area, checkpoint_sectors long: two halves, each a
                         commit record, a directory and the log data of one checkpoint
                         (kernel/obj/log.py describes it)
    start_lba of range   the objects, each object_sectors long, in OID order; the first
                         range starts page-aligned (8 sectors)

The checksum (CRC-32, zlib's) covers the header sector with its checksum field zero, then
every sector of the range table.  Nothing else the kernel reads goes unchecked: the maps
are covered by a CRC in the last commit record (which changes with every checkpoint), each
object by its entry in its range's checksum table (itself part of the maps), and the log by
the commit record and its directory.  `generation` counts rewrites of the header (format
writes 1); checkpoints are numbered by their commit records' sequence numbers instead.

Versions: each object has an allocation count (its version) in the version table.  Freeing
an object bumps it, and a capability carries the version it was made for, so every
capability to a destroyed object is stale (revoked) at once, even after the OID is reused.
"""

import ctypes
import enum
import zlib

SECTOR_SIZE = 512
MAGIC = b"UKOBJST1"
FORMAT_VERSION = 2                    # 2: checksum tables and the checkpoint log
PAGE_SIZE = 4096
PAGE_SECTORS = PAGE_SIZE // SECTOR_SIZE
NODE_SLOTS = 32                       # capability slots per node, as in EROS
FIRST_OID = 1                         # OID 0 is the null OID
NULL_OID = 0
VERSION_SIZE = 4                      # bytes per entry of a version table
SUM_SIZE = 4                          # bytes per entry of a checksum table (CRC-32)
VERSION_MASK = 0xFFFF_FFFF
MAX_RANGE_TABLE_SECTORS = 64          # a reader refuses a larger table as corrupt
MIN_CHECKPOINT_SECTORS = 64           # two halves, each room for its records and a few objects


class ObjectStoreError(ValueError):
    """The store is corrupt, full, or asked for something it does not hold."""


class ObjectKind(enum.IntEnum):
    """What a range holds (0 = unused range-table entry)."""
    PAGE = 1                          # 4 KiB of data
    NODE = 2                          # NODE_SLOTS capabilities


class CapType(enum.IntEnum):
    """What a capability designates.  VOID is 0 so an all-zero slot is a void capability."""
    VOID = 0
    PAGE = 1
    NODE = 2
    SPACE_BANK = 3
    PROCESS = 4
    ENDPOINT = 5
    FRAME = 6
    DISK = 7
    DEVICE = 8                        # a controller's register pages (kernel/obj/devcap.py)
    IRQ = 9                           # a controller's interrupts, as messages
    PHYS = 10                         # the physical address of the holder's pinned pages


class Rights(enum.IntFlag):
    """Restrictions a capability carries (none = full rights)."""
    NONE = 0
    READ_ONLY = 0x1                   # no writes through this capability
    WEAK = 0x2                        # what is fetched through it is weakened too (EROS)


class Incompat(enum.IntFlag):
    """Header features a reader must understand to use the store at all (none yet)."""
    NONE = 0


SUPPORTED_INCOMPAT = Incompat.NONE


class Header(ctypes.LittleEndianStructure):
    _pack_ = 1
    _fields_ = [
        ("magic", ctypes.c_char * 8),              # MAGIC
        ("version", ctypes.c_uint32),              # FORMAT_VERSION
        ("header_size", ctypes.c_uint32),          # sizeof(Header)
        ("sector_size", ctypes.c_uint32),
        ("page_size", ctypes.c_uint32),
        ("node_slots", ctypes.c_uint32),
        ("node_size", ctypes.c_uint32),            # sizeof(Node): bytes of a node record
        ("total_sectors", ctypes.c_uint64),        # size of the store
        ("range_table_lba", ctypes.c_uint64),
        ("range_table_sectors", ctypes.c_uint32),
        ("range_count", ctypes.c_uint32),
        ("map_lba", ctypes.c_uint64),              # all allocation maps (bitmaps, versions)
        ("map_sectors", ctypes.c_uint64),
        ("checkpoint_lba", ctypes.c_uint64),       # reserved for the checkpoint area: 0 = none
        ("checkpoint_sectors", ctypes.c_uint64),
        ("generation", ctypes.c_uint64),           # header/checkpoint sequence number
        ("incompat", ctypes.c_uint32),             # Incompat
        ("checksum", ctypes.c_uint32),             # CRC-32 of header (this field 0) + range table
        ("reserved", ctypes.c_uint8 * 408),        # zero
    ]

    @property
    def range_capacity(self) -> int:
        return self.range_table_sectors * SECTOR_SIZE // RANGE_ENTRY_SIZE

    def problem(self) -> str | None:
        """Why this header cannot be used (checksum aside), or None if it looks sane."""
        if self.magic != MAGIC:
            return f"not an object store: bad magic {bytes(self.magic)!r} (expected {MAGIC!r})"
        if self.version != FORMAT_VERSION:
            return f"unsupported object-store version {self.version} (this kernel reads {FORMAT_VERSION})"
        unsupported = self.incompat & ~SUPPORTED_INCOMPAT
        if unsupported:
            return f"unsupported object-store features 0x{unsupported:x}"
        if (self.header_size, self.sector_size, self.page_size, self.node_slots, self.node_size) != \
                (HEADER_SIZE, SECTOR_SIZE, PAGE_SIZE, NODE_SLOTS, NODE_SIZE):
            return (f"corrupt object-store header: sizes (header {self.header_size}, sector "
                    f"{self.sector_size}, page {self.page_size}, node {self.node_slots} slots/"
                    f"{self.node_size} bytes) are not this kernel's")
        extents = [("range table", self.range_table_lba, self.range_table_sectors),
                   ("allocation maps", self.map_lba, self.map_sectors),
                   ("checkpoint area", self.checkpoint_lba, self.checkpoint_sectors)]
        for name, lba, count in extents:
            if count and not 1 <= lba <= lba + count <= self.total_sectors:
                return (f"corrupt object-store header: {name} at LBA {lba} (+{count}) lies "
                        f"outside the store of {self.total_sectors} sectors")
        if self.checkpoint_sectors < MIN_CHECKPOINT_SECTORS:
            return (f"corrupt object-store header: a checkpoint area of {self.checkpoint_sectors} "
                    f"sectors (at least {MIN_CHECKPOINT_SECTORS})")
        if (not 1 <= self.range_table_sectors <= MAX_RANGE_TABLE_SECTORS
                or self.range_count > self.range_capacity):
            return (f"corrupt object-store header: {self.range_count} ranges in a table of "
                    f"{self.range_table_sectors} sectors")
        return None


HEADER_SIZE = SECTOR_SIZE
assert ctypes.sizeof(Header) == HEADER_SIZE


class RangeEntry(ctypes.LittleEndianStructure):
    """One run of objects of one kind: OIDs [start_oid, end_oid) at start_lba on drive."""
    _pack_ = 1
    _fields_ = [
        ("start_oid", ctypes.c_uint64),
        ("end_oid", ctypes.c_uint64),              # exclusive
        ("drive", ctypes.c_uint32),                # 0 = the disk holding this header
        ("kind", ctypes.c_uint8),                  # ObjectKind
        ("reserved0", ctypes.c_uint8),
        ("object_sectors", ctypes.c_uint16),       # PAGE_SECTORS or NODE_SECTORS
        ("start_lba", ctypes.c_uint64),            # from the start of the object-store partition
        ("bitmap_lba", ctypes.c_uint64),           # allocation bitmap of this range
        ("versions_lba", ctypes.c_uint64),         # version table of this range
        ("sums_lba", ctypes.c_uint64),             # checksum table of this range
        ("reserved", ctypes.c_uint8 * 8),
    ]

    @property
    def count(self) -> int:
        return self.end_oid - self.start_oid

    @property
    def sectors(self) -> int:
        return self.count * self.object_sectors

    @property
    def bitmap_sectors(self) -> int:
        return sectors_for(ceil_div(self.count, 8))

    @property
    def versions_sectors(self) -> int:
        return sectors_for(self.count * VERSION_SIZE)

    @property
    def sums_sectors(self) -> int:
        return sectors_for(self.count * SUM_SIZE)

    def contains(self, oid: int) -> bool:
        return self.start_oid <= oid < self.end_oid

    def lba_of(self, oid: int) -> int:
        """The relative offset adjustment: where object `oid` of this range starts."""
        return self.start_lba + (oid - self.start_oid) * self.object_sectors

    def problem(self, total_sectors: int) -> str | None:
        """Why this entry cannot be used in a store of total_sectors, or None."""
        try:
            kind = ObjectKind(self.kind)
        except ValueError:
            return f"unknown object kind {self.kind}"
        if self.object_sectors != OBJECT_SECTORS[kind]:
            return f"{kind.name} objects of {self.object_sectors} sectors (expected {OBJECT_SECTORS[kind]})"
        if not FIRST_OID <= self.start_oid < self.end_oid:
            return f"empty or backwards OID range [{self.start_oid:#x}, {self.end_oid:#x})"
        for name, lba, count in (("objects", self.start_lba, self.sectors),
                                 ("bitmap", self.bitmap_lba, self.bitmap_sectors),
                                 ("version table", self.versions_lba, self.versions_sectors),
                                 ("checksum table", self.sums_lba, self.sums_sectors)):
            if self.drive == 0 and not 1 <= lba <= lba + count <= total_sectors:
                return f"{name} at LBA {lba} (+{count}) lie outside the store of {total_sectors} sectors"
        return None


RANGE_ENTRY_SIZE = 64
assert ctypes.sizeof(RangeEntry) == RANGE_ENTRY_SIZE


class Capability(ctypes.LittleEndianStructure):
    """A capability as stored in a node slot: which object, what kind, which version, rights.

    It is valid only while `version` equals the object's current version (see store.py).
    """
    _pack_ = 1
    _fields_ = [
        ("oid", ctypes.c_uint64),
        ("version", ctypes.c_uint32),              # the object's allocation count when made
        ("type", ctypes.c_uint8),                  # CapType
        ("rights", ctypes.c_uint8),                # Rights
        ("reserved", ctypes.c_uint16),
    ]

    def __repr__(self) -> str:
        return (f"Capability({CapType(self.type).name}, oid={self.oid:#x}, "
                f"version={self.version}, rights={Rights(self.rights)!r})")


CAPABILITY_SIZE = 16
assert ctypes.sizeof(Capability) == CAPABILITY_SIZE


class Node(ctypes.LittleEndianStructure):
    """A node: its own OID and version (a check against misplaced writes), then the slots."""
    _pack_ = 1
    _fields_ = [
        ("oid", ctypes.c_uint64),
        ("version", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        ("slots", Capability * NODE_SLOTS),
    ]


NODE_SIZE = 16 + NODE_SLOTS * CAPABILITY_SIZE
assert ctypes.sizeof(Node) == NODE_SIZE


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def sectors_for(nbytes: int) -> int:
    return ceil_div(nbytes, SECTOR_SIZE)


NODE_SECTORS = sectors_for(NODE_SIZE)          # 528 bytes -> 2 sectors
OBJECT_SECTORS = {ObjectKind.PAGE: PAGE_SECTORS, ObjectKind.NODE: NODE_SECTORS}
OBJECT_BYTES = {ObjectKind.PAGE: PAGE_SIZE, ObjectKind.NODE: NODE_SIZE}
CAP_TYPE_OF = {ObjectKind.PAGE: CapType.PAGE, ObjectKind.NODE: CapType.NODE}


def header_checksum(header: bytes, range_table: bytes) -> int:
    """CRC-32 of the header sector with its checksum field zeroed, then the range table."""
    blank = Header.from_buffer_copy(header[:HEADER_SIZE])
    blank.checksum = 0
    return zlib.crc32(range_table, zlib.crc32(bytes(blank)))


def ranges_problem(header: Header, ranges: list[RangeEntry]) -> str | None:
    """Why this range table cannot be used, or None: bad entries, or OIDs named twice."""
    for number, entry in enumerate(ranges):
        why = entry.problem(header.total_sectors)
        if why:
            return f"range {number}: {why}"
    spans = sorted((entry.start_oid, entry.end_oid) for entry in ranges)
    for (_, end), (start, _) in zip(spans, spans[1:]):
        if start < end:
            return f"two ranges both name OID {start:#x}"
    return None


STORED_CAP_TYPES = (CapType.VOID, CapType.PAGE, CapType.NODE)   # what node_set lets into a slot


def node_problem(node: Node, oid: int, version: int) -> str | None:
    """Why this node record, read for object `oid` of this version, cannot be used, or None."""
    if node.oid != oid or node.version != version:
        return (f"node {oid:#x} (version {version}) holds the record of node {node.oid:#x} "
                f"version {node.version}")
    for index, slot in enumerate(node.slots):
        if slot.type not in STORED_CAP_TYPES or slot.rights & ~(Rights.READ_ONLY | Rights.WEAK):
            return f"node {oid:#x} slot {index}: capability type {slot.type} rights {slot.rights:#x}"
        if slot.type == CapType.VOID and bytes(slot) != bytes(CAPABILITY_SIZE):
            return f"node {oid:#x} slot {index}: a void capability that is not all zero"
    return None
