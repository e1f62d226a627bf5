"""Specification of the object store (kernel/obj): format, OID -> LBA, allocation, object I/O,
the header check, the listing tool and mkdisk's partition 2."""

import pytest

from kernel.obj import store as objstore
from kernel.obj.layout import (
    HEADER_SIZE, NODE_SECTORS, NODE_SIZE, PAGE_SECTORS, PAGE_SIZE, SECTOR_SIZE, CapType,
    ObjectKind, Rights,
)
from kernel.obj.store import FileSectorDevice, ObjectStoreError
from kernel.tools import mkdisk
from kernel.tools import objstore as objstore_tool

STORE_SECTORS = 4096                       # a 2 MiB store
PAGES, NODES = 100, 50


@pytest.fixture
def image(tmp_path):
    """An image file holding only a freshly formatted store (no MBR), at byte 0."""
    path = tmp_path / "store.img"
    path.write_bytes(bytes(STORE_SECTORS * SECTOR_SIZE))
    with FileSectorDevice(path) as dev:
        objstore.format(dev, STORE_SECTORS, PAGES, NODES)
    return path


def reopen(path):
    return objstore.open(FileSectorDevice(path))


def test_format_then_open_gives_two_empty_ranges(image):
    store = reopen(image)
    stats = store.stats()
    assert [(r.kind, r.count, r.in_use, r.object_sectors) for r in stats.ranges] == \
        [(ObjectKind.PAGE, PAGES, 0, PAGE_SECTORS), (ObjectKind.NODE, NODES, 0, NODE_SECTORS)]
    assert stats.capacity == {ObjectKind.PAGE: PAGES, ObjectKind.NODE: NODES}
    assert store.header.generation == 1 and store.header.checkpoint_sectors >= 64
    assert store.sequence == 1                      # format commits an empty checkpoint 1
    assert NODE_SECTORS == 2 and NODE_SIZE == 16 + 32 * 16


def test_oid_maps_to_its_sector_by_the_relative_offset_in_its_range(image):
    store = reopen(image)
    for entry in store.ranges:
        for oid in (entry.start_oid, entry.start_oid + 7, entry.end_oid - 1):
            found, lba = store.locate(oid)
            assert found.start_oid == entry.start_oid
            assert lba == entry.start_lba + (oid - entry.start_oid) * entry.object_sectors
    pages, nodes = store.ranges
    assert pages.start_lba % PAGE_SECTORS == 0
    assert nodes.start_lba == pages.start_lba + PAGES * PAGE_SECTORS   # nodes follow the pages
    with pytest.raises(ObjectStoreError, match="in no range"):
        store.locate(pages.end_oid)                                  # between the ranges


def test_free_bumps_the_version_so_old_capabilities_are_revoked_and_the_oid_is_reused(image):
    store = reopen(image)
    oid = store.allocate(ObjectKind.NODE)
    old = store.capability(oid, Rights.READ_ONLY)
    assert (old.type, old.version, store.is_current(old)) == (CapType.NODE, 0, True)
    store.free(oid)
    assert not store.is_current(old)
    with pytest.raises(ObjectStoreError, match="not allocated"):
        store.free(oid)
    assert store.allocate(ObjectKind.NODE) == oid                    # the same slot, reused
    new = store.capability(oid)
    assert new.version == 1 and store.is_current(new) and not store.is_current(old)
    assert store.read_node(oid).oid == oid                           # zeroed: all slots void
    assert all(slot.type == CapType.VOID for slot in store.read_node(oid).slots)
    again = reopen(image)                                            # all of it is on the disk
    assert again.version(oid) == 1 and again.stats().in_use[ObjectKind.NODE] == 1


def test_a_page_written_is_read_back_also_after_a_reboot(image):
    data = bytes(range(256)) * (PAGE_SIZE // 256)
    with FileSectorDevice(image) as dev:
        store = objstore.open(dev)
        store.allocate(ObjectKind.PAGE)
        oid = store.allocate(ObjectKind.PAGE)
        store.write_object(oid, data)
        before = dev.reads
        assert store.read_object(oid) == data
        assert dev.reads - before == 1                                    # whole-object I/O
    store = reopen(image)                                                 # "after a reboot"
    assert store.read_object(oid) == data
    assert store.stats().in_use[ObjectKind.PAGE] == 2
    raw = image.read_bytes()
    _, lba = store.locate(oid)
    assert raw[lba * SECTOR_SIZE:lba * SECTOR_SIZE + PAGE_SIZE] == data   # at its home location


def test_header_checksum_catches_a_flipped_byte(image):
    with open(image, "r+b") as f:
        f.seek(SECTOR_SIZE + 16)            # inside the range table: the first range's drive
        f.write(b"\x01")
    with pytest.raises(ObjectStoreError, match="corrupt object-store header: checksum"):
        reopen(image)


def test_a_wrong_magic_is_refused(image):
    with open(image, "r+b") as f:
        f.write(b"NOTASTOR")
    with pytest.raises(ObjectStoreError, match=r"not an object store: bad magic b'NOTASTOR'"):
        reopen(image)
    assert HEADER_SIZE == SECTOR_SIZE


def test_objstore_list_prints_the_ranges_and_the_objects_in_use(tmp_path, capsys):
    disk = tmp_path / "disk.img"
    mkdisk.make_disk(disk, None, 16 << 20, objects=64)
    with objstore.partition_device(disk) as dev:
        store = objstore.open(dev)
        store.allocate(ObjectKind.PAGE)
        store.allocate(ObjectKind.PAGE)
        store.allocate(ObjectKind.NODE)
        pages, nodes = store.ranges
    assert objstore_tool.main(["list", str(disk)]) == 0
    out = capsys.readouterr().out
    assert "start OID" in out and "start LBA" in out
    for entry, kind, used in ((pages, "PAGE", 2), (nodes, "NODE", 1)):
        line = next(line.split() for line in out.splitlines() if f" {kind} " in line)
        assert line == [f"{entry.start_oid:#x}", f"{entry.end_oid:#x}", "0", str(entry.start_lba),
                        kind, str(entry.object_sectors), "64", str(used)]
    assert "pages: 2 of 64 in use" in out and "nodes: 1 of 64 in use" in out
    with open(disk, "r+b") as f:                                     # now break it
        f.seek(mkdisk.partition_offsets(disk)[1][0] + 9)
        f.write(b"\xff")
    assert objstore_tool.main(["list", str(disk)]) == 1
    assert "corrupt object-store header" in capsys.readouterr().err


def test_mkdisk_formats_partition_2_as_an_object_store(tmp_path):
    disk = tmp_path / "disk.img"
    parts = mkdisk.make_disk(disk, None, 16 << 20)
    start, size, kind = parts[1]
    assert kind == mkdisk.OBJECT_STORE_TYPE
    with objstore.partition_device(disk) as dev:
        stats = objstore.open(dev).stats()
    assert stats.total_sectors == size // SECTOR_SIZE
    most = objstore.capacity(size // SECTOR_SIZE)
    assert most > 0 and stats.capacity == {ObjectKind.PAGE: most, ObjectKind.NODE: most}
    assert stats.in_use == {ObjectKind.PAGE: 0, ObjectKind.NODE: 0}
    assert mkdisk.main([str(tmp_path / "big.img"), "--size", "16M", "--objects", "100000"]) == 1
