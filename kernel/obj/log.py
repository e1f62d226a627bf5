"""The checkpoint log: where a checkpoint sits in the store, and how the last one is found.

A checkpoint (EROS's, simplified) saves every object that changed since the previous one,
all as they were at one instant, together with the allocation maps of that instant.  It
goes to the checkpoint area first and only then to the objects' home locations, so a power
cut at any point leaves either the previous checkpoint whole at home, or the new one whole
in the log, from where recovery copies it home again.

The checkpoint area is cut in two halves; checkpoint n uses half n % 2:

    half lba + 0             commit record (CommitRecord: one sector)
    half lba + 1             directory: `entries` LogEntry records (32 bytes, 16 a sector)
    + directory_sectors      log data: each entry's sectors, one after the other

Writing checkpoint n: the log data and the directory (in any order), then the commit
record; then every entry is copied to its home (migration).  Checkpoint n+1 starts only
after n has migrated, and writes the other half, so the newest commit record's log is never
overwritten while it may still be needed: n+2, which does overwrite half n % 2, starts after
n+1 committed.  The commit record is one sector, which a disk writes whole or not at all;
its CRC (and the directory's, and each entry's) catch anything else.

Recovery (store.open): the commit record with the highest sequence number whose own CRC is
right is the last committed checkpoint; a half whose record is torn or older is ignored (it
is the torn tail of a checkpoint that never committed, or an old one).  Its directory and
every entry must match their CRCs, or the store is refused; then the entries are copied
home again (harmless if they already are: migration is idempotent).
"""

import ctypes
import enum
import zlib
from dataclasses import dataclass, field

from .layout import SECTOR_SIZE, ObjectStoreError, ceil_div

COMMIT_MAGIC = b"UKCOMMIT"


class EntryKind(enum.IntEnum):
    PAGE = 1            # a page object (8 sectors)
    NODE = 2            # a node object (2 sectors)
    MAP = 3             # one sector of the allocation maps (bitmap, versions, checksums)


class CommitRecord(ctypes.LittleEndianStructure):
    _pack_ = 1
    _fields_ = [
        ("magic", ctypes.c_char * 8),              # COMMIT_MAGIC
        ("sequence", ctypes.c_uint64),             # the checkpoint's number; half = sequence % 2
        ("entries", ctypes.c_uint32),
        ("directory_sectors", ctypes.c_uint32),
        ("data_sectors", ctypes.c_uint32),
        ("directory_crc", ctypes.c_uint32),        # CRC-32 of the directory's sectors
        ("maps_crc", ctypes.c_uint32),             # CRC-32 of the whole map area after migration
        ("checksum", ctypes.c_uint32),             # CRC-32 of this record with this field 0
        ("reserved", ctypes.c_uint8 * 472),
    ]


assert ctypes.sizeof(CommitRecord) == SECTOR_SIZE


class LogEntry(ctypes.LittleEndianStructure):
    _pack_ = 1
    _fields_ = [
        ("home_lba", ctypes.c_uint64),             # where the entry migrates (partition-relative)
        ("oid", ctypes.c_uint64),                  # the object (0 for a map sector)
        ("sectors", ctypes.c_uint32),
        ("kind", ctypes.c_uint8),                  # EntryKind
        ("reserved0", ctypes.c_uint8 * 3),
        ("crc", ctypes.c_uint32),                  # CRC-32 of the entry's data (whole sectors)
        ("reserved", ctypes.c_uint32),
    ]


LOG_ENTRY_SIZE = 32
assert ctypes.sizeof(LogEntry) == LOG_ENTRY_SIZE
ENTRIES_PER_SECTOR = SECTOR_SIZE // LOG_ENTRY_SIZE


@dataclass
class Entry:
    """One object or map sector of a checkpoint.  `data` is None for a page the kernel
    writes from its frame through the object server."""
    kind: EntryKind
    oid: int
    home_lba: int
    sectors: int
    crc: int
    data: bytes | None = None
    log_lba: int = 0


@dataclass
class Checkpoint:
    """A checkpoint, planned: its entries have their log sectors; directory and record are
    the bytes to write (the record last)."""
    sequence: int
    half_lba: int
    entries: list[Entry] = field(default_factory=list)
    directory: bytes = b""
    record: bytes = b""

    @property
    def directory_lba(self) -> int:
        return self.half_lba + 1


def half_sectors(checkpoint_sectors: int) -> int:
    return checkpoint_sectors // 2


def half_lba(checkpoint_lba: int, checkpoint_sectors: int, sequence: int) -> int:
    return checkpoint_lba + (sequence % 2) * half_sectors(checkpoint_sectors)


def directory_sectors(entries: int) -> int:
    return ceil_div(entries, ENTRIES_PER_SECTOR)


def sectors_needed(entries: int, data_sectors: int) -> int:
    """How much of a half a checkpoint of `entries` entries and data_sectors of data takes."""
    return 1 + directory_sectors(entries) + data_sectors


def padded(data: bytes, sectors: int) -> bytes:
    return data + bytes(sectors * SECTOR_SIZE - len(data))


def record_checksum(record: CommitRecord) -> int:
    blank = CommitRecord.from_buffer_copy(bytes(record))
    blank.checksum = 0
    return zlib.crc32(bytes(blank))


def build(checkpoint_lba: int, checkpoint_sectors: int, sequence: int, entries: list[Entry],
          maps_crc: int) -> Checkpoint:
    """Lay out checkpoint `sequence` in its half; ObjectStoreError if it does not fit."""
    data_sectors = sum(e.sectors for e in entries)
    room = half_sectors(checkpoint_sectors)
    if sectors_needed(len(entries), data_sectors) > room:
        raise ObjectStoreError(f"checkpoint {sequence} needs {sectors_needed(len(entries), data_sectors)} "
                               f"sectors; a half of the checkpoint area has {room}")
    start = half_lba(checkpoint_lba, checkpoint_sectors, sequence)
    lba = start + 1 + directory_sectors(len(entries))
    table = bytearray(directory_sectors(len(entries)) * SECTOR_SIZE)
    for number, entry in enumerate(entries):
        entry.log_lba = lba
        lba += entry.sectors
        table[number * LOG_ENTRY_SIZE:(number + 1) * LOG_ENTRY_SIZE] = bytes(LogEntry(
            home_lba=entry.home_lba, oid=entry.oid, sectors=entry.sectors, kind=entry.kind,
            crc=entry.crc))
    record = CommitRecord(magic=COMMIT_MAGIC, sequence=sequence, entries=len(entries),
                          directory_sectors=directory_sectors(len(entries)),
                          data_sectors=data_sectors, directory_crc=zlib.crc32(bytes(table)),
                          maps_crc=maps_crc)
    record.checksum = record_checksum(record)
    return Checkpoint(sequence, start, entries, bytes(table), bytes(record))


# ---- recovery --------------------------------------------------------------------------------

def valid_record(sector: bytes, half: int, checkpoint_sectors: int) -> CommitRecord | None:
    """The commit record in this sector if it is whole and belongs in this half, else None."""
    record = CommitRecord.from_buffer_copy(sector)
    if record.magic != COMMIT_MAGIC or record.checksum != record_checksum(record):
        return None
    if record.sequence % 2 != half or record.directory_sectors != directory_sectors(record.entries):
        return None
    if sectors_needed(record.entries, record.data_sectors) > half_sectors(checkpoint_sectors):
        return None
    return record


def last_committed(dev, checkpoint_lba: int, checkpoint_sectors: int) -> CommitRecord:
    """The newest whole commit record of the two halves (ObjectStoreError if neither is)."""
    records = []
    for half in (0, 1):
        sector = dev.read(checkpoint_lba + half * half_sectors(checkpoint_sectors), 1)
        record = valid_record(sector, half, checkpoint_sectors)
        if record is not None:
            records.append(record)
        elif sector[:len(COMMIT_MAGIC)] == COMMIT_MAGIC:
            # A record is one sector, written whole or not at all: one that is there but
            # wrong was damaged, and the other half's older one would roll the store back.
            raise ObjectStoreError(f"the commit record in half {half} of the checkpoint area "
                                   f"is damaged")
    if not records:
        raise ObjectStoreError("no committed checkpoint: both commit records of the checkpoint "
                               "area are damaged")
    return max(records, key=lambda r: r.sequence)


def read_log(dev, checkpoint_lba: int, checkpoint_sectors: int, record: CommitRecord) -> list[Entry]:
    """The entries of a committed checkpoint, each with its data, checked against its CRC."""
    start = half_lba(checkpoint_lba, checkpoint_sectors, record.sequence)
    table = dev.read(start + 1, record.directory_sectors) if record.directory_sectors else b""
    if zlib.crc32(table) != record.directory_crc:
        raise ObjectStoreError(f"checkpoint {record.sequence}: its log directory does not match "
                               f"the commit record's checksum")
    entries, lba, total = [], start + 1 + record.directory_sectors, 0
    for number in range(record.entries):
        raw = LogEntry.from_buffer_copy(table, number * LOG_ENTRY_SIZE)
        try:
            kind = EntryKind(raw.kind)
        except ValueError:
            raise ObjectStoreError(f"checkpoint {record.sequence}: log entry {number} has "
                                   f"unknown kind {raw.kind}") from None
        total += raw.sectors
        if not 1 <= raw.sectors or total > record.data_sectors:
            raise ObjectStoreError(f"checkpoint {record.sequence}: log entry {number} runs past "
                                   f"the log's {record.data_sectors} sectors")
        data = dev.read(lba, raw.sectors)
        if zlib.crc32(data) != raw.crc:
            raise ObjectStoreError(f"checkpoint {record.sequence}: log entry {number} "
                                   f"({kind.name.lower()} {raw.oid:#x}) fails its checksum")
        entries.append(Entry(kind, raw.oid, raw.home_lba, raw.sectors, raw.crc, data, lba))
        lba += raw.sectors
    return entries

