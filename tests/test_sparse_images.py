"""The test suite's disk images stay sparse: a copy of a 64 MiB image that holds a few MiB
takes a few MiB, so that hundreds of copies in a run do not fill the temporary directory."""

import hashlib

from conftest import copy_image, partition1

MIB = 1 << 20


def allocated(path) -> int:
    return path.stat().st_blocks * 512


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_disk_fixture_is_a_sparse_copy_of_the_master(disk, master_image):
    assert disk.stat().st_size == master_image.stat().st_size >= 64 * MIB
    assert allocated(disk) < 16 * MIB, allocated(disk)
    assert digest(disk) == digest(master_image)


def test_copies_and_partition_extracts_keep_their_holes(disk, tmp_path):
    again = copy_image(disk, tmp_path / 'again.img')
    assert digest(again) == digest(disk) and allocated(again) <= allocated(disk) + MIB
    part = partition1(disk, tmp_path / 'p1')
    assert part.stat().st_size >= 50 * MIB and allocated(part) < 16 * MIB
    from kernel.tools.mkdisk import partition_offsets
    start, size, _ = partition_offsets(disk)[0]
    with open(disk, 'rb') as f:
        f.seek(start)
        assert hashlib.sha256(f.read(size)).hexdigest() == digest(part)
