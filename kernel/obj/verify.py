"""The object store's consistency check (`ukern objstore check IMAGE`), like fsck but only
looking: what a boot would see, each problem one line.

store.open() has already checked the header and range table, found the last committed
checkpoint, checked its log against the commit record, and the maps against the CRC the
record holds; it reads the log over the home locations without writing (replay=False), so
a store cut by a power failure between commit and migration checks as the state the next
boot recovers.  problems() then checks what open() does not read:

  - the ranges' object areas overlap neither each other nor the metadata before them;
  - a bitmap has no bit set past its range's last object;
  - every allocated object matches its checksum; a node names itself and its version,
    and holds only void, page and node capabilities;
  - every capability in a node designates an object of its kind in some range, with a
    version no newer than the object's (older is a revoked capability, which is allowed;
    equal means the object must be allocated).
"""

from .layout import CapType, ObjectKind, ObjectStoreError
from .store import ObjectStore

KIND_OF_CAP = {CapType.PAGE: ObjectKind.PAGE, CapType.NODE: ObjectKind.NODE}


def problems(store: ObjectStore) -> list[str]:
    out = _range_problems(store)
    for entry in store.ranges:
        kind = ObjectKind(entry.kind)
        for oid in range(entry.start_oid, entry.end_oid):
            if not store.is_allocated(oid):
                continue
            try:
                data = store.read_object(oid)
            except (ObjectStoreError, OSError) as err:
                out.append(str(err))
                continue
            if kind == ObjectKind.NODE:
                out += _slot_problems(store, oid, data)
    return out


def _range_problems(store: ObjectStore) -> list[str]:
    out = []
    header = store.header
    metadata_end = header.checkpoint_lba + header.checkpoint_sectors
    spans = sorted((entry.start_lba, entry.start_lba + entry.sectors, entry.start_oid)
                   for entry in store.ranges)
    for start, _, oid in spans:
        if start < metadata_end:
            out.append(f"range at OID {oid:#x}: its objects at LBA {start} overlap the maps or "
                       f"the checkpoint area (which end at {metadata_end})")
    for (_, end, first), (start, _, second) in zip(spans, spans[1:]):
        if start < end:
            out.append(f"ranges at OID {first:#x} and {second:#x} overlap on the disk")
    for entry in store.ranges:
        bitmap = bytes(store.map_area(entry.bitmap_lba, entry.bitmap_sectors))
        if int.from_bytes(bitmap, "little") >> entry.count:
            out.append(f"range at OID {entry.start_oid:#x}: its bitmap marks objects past its "
                       f"{entry.count} objects")
    return out


def _slot_problems(store: ObjectStore, oid: int, data: bytes) -> list[str]:
    from .layout import Node
    out = []
    node = Node.from_buffer_copy(data)
    for index, cap in enumerate(node.slots):
        if cap.type == CapType.VOID:
            continue
        where = f"node {oid:#x} slot {index}"
        try:
            kind = store.kind(cap.oid)
        except ObjectStoreError:
            out.append(f"{where}: a {CapType(cap.type).name.lower()} capability to OID {cap.oid:#x}, "
                       f"which is in no range")
            continue
        if kind != KIND_OF_CAP[CapType(cap.type)]:
            out.append(f"{where}: a {CapType(cap.type).name.lower()} capability to {kind.name.lower()} "
                       f"{cap.oid:#x}")
        elif cap.version > store.version(cap.oid):
            out.append(f"{where}: capability version {cap.version} is newer than object "
                       f"{cap.oid:#x}'s {store.version(cap.oid)}")
        elif cap.version == store.version(cap.oid) and not store.is_allocated(cap.oid):
            out.append(f"{where}: a current capability to {cap.oid:#x}, which is free")
    return out
