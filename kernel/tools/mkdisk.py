"""mkdisk: build a ukern disk image from a host directory.

    ukern mkdisk IMAGE --root DIR [--size 64M] [--swap 64M] [--objects N] [--checkpoint SIZE]

The image gets an MBR partition table with two partitions:
  1. ext2 (type 0x83), starting at LBA 2048, holding a copy of DIR (made by mke2fs -d);
  2. OBJECT_STORE_TYPE, the last eighth of the disk (at least 1 MiB), formatted as an empty
     object store (kernel/obj/store.py) of --objects N pages and N nodes, default all that fit,
     with a checkpoint area of --checkpoint SIZE (default an eighth of the store);
  3. with --swap, a swap partition (type 0x82) after them.
The kernel finds partition 1 with partition_offsets() and mounts it with kernel.fs.ext2.

One image, two disks (attach_disks): when the machine boots from the image, partition 2 is
the disk of the object store's own AHCI controller (driven by /sbin/objsrv in ring 3), and
the kernel's disk, on the first controller, is the whole image with partition 2 fenced off.
"""

import argparse
import ctypes
import errno
import os
import shutil
import sys
import tempfile

SECTOR_SIZE = 512
MIB = 1 << 20
FIRST_PARTITION_LBA = 2048        # 1 MiB in, where every modern partitioner starts
PARTITION_ALIGN = MIB // SECTOR_SIZE
LINUX_TYPE = 0x83
OBJECT_STORE_TYPE = 0xDA          # "non-FS data": nothing else will try to mount it
SWAP_TYPE = 0x82                  # Linux swap (kernel/mm/swap.py uses it)
MIN_OBJECT_STORE = MIB
MBR_SIGNATURE = 0xAA55
NO_CHS = (0xFE, 0xFF, 0xFF)       # "use the LBA fields": CHS cannot address big disks
DEFAULT_SIZE = 64 * MIB
MAX_SIZE = 4 << 30                # a teaching machine's disk (and a sparse image) stays small
EXT2_BLOCK_SIZE = 4096
SIZE_SUFFIXES = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


class PartitionEntry(ctypes.LittleEndianStructure):
    _pack_ = 1
    _fields_ = [
        ("status", ctypes.c_uint8),               # 0x80 = bootable
        ("chs_first", ctypes.c_uint8 * 3),
        ("type", ctypes.c_uint8),
        ("chs_last", ctypes.c_uint8 * 3),
        ("lba_first", ctypes.c_uint32),
        ("sector_count", ctypes.c_uint32),
    ]


assert ctypes.sizeof(PartitionEntry) == 16


class MasterBootRecord(ctypes.LittleEndianStructure):
    _pack_ = 1
    _fields_ = [
        ("boot_code", ctypes.c_uint8 * 440),
        ("disk_signature", ctypes.c_uint32),
        ("reserved", ctypes.c_uint16),
        ("partitions", PartitionEntry * 4),
        ("signature", ctypes.c_uint16),
    ]


assert ctypes.sizeof(MasterBootRecord) == SECTOR_SIZE


def plan_partitions(size_bytes: int, swap_bytes: int = 0) -> list[tuple[int, int, int]]:
    """(first LBA, sector count, type) of the ext2 and object-store partitions, and of a
    swap partition at the end of the disk when swap_bytes is given (the disk grows by it)."""
    sectors = size_bytes // SECTOR_SIZE
    store = max(sectors // 8, MIN_OBJECT_STORE // SECTOR_SIZE)
    store_start = (sectors - store) // PARTITION_ALIGN * PARTITION_ALIGN
    if store_start - FIRST_PARTITION_LBA < 2 * PARTITION_ALIGN:
        raise ValueError(f"disk of {size_bytes} bytes is too small for two partitions")
    plan = [(FIRST_PARTITION_LBA, store_start - FIRST_PARTITION_LBA, LINUX_TYPE),
            (store_start, sectors - store_start, OBJECT_STORE_TYPE)]
    if swap_bytes:
        swap_sectors = (swap_bytes + MIB - 1) // MIB * PARTITION_ALIGN
        plan.append((sectors, swap_sectors, SWAP_TYPE))
    return plan


def build_mbr(partitions: list[tuple[int, int, int]]) -> bytes:
    mbr = MasterBootRecord(signature=MBR_SIGNATURE)
    for entry, (lba, count, kind) in zip(mbr.partitions, partitions):
        entry.chs_first[:] = entry.chs_last[:] = NO_CHS
        entry.type, entry.lba_first, entry.sector_count = kind, lba, count
    return bytes(mbr)


def partition_offsets(image_path) -> list[tuple[int, int, int]]:
    """(start byte, size in bytes, type) of each used MBR partition, in table order."""
    with open(image_path, "rb") as image:
        mbr = MasterBootRecord.from_buffer_copy(image.read(SECTOR_SIZE))
    if mbr.signature != MBR_SIGNATURE:
        raise ValueError(f"{image_path}: no MBR partition table (signature 0x{mbr.signature:04x})")
    return [(p.lba_first * SECTOR_SIZE, p.sector_count * SECTOR_SIZE, p.type)
            for p in mbr.partitions if p.type and p.sector_count]


def attach_disks(image_path):
    """(the kernel's disk, the object store's disk or None) of a ukern image, as
    emu.disk_image.DiskImage views of the one file: the store's disk is partition 2 alone,
    and the kernel's disk cannot reach partition 2."""
    from emu.disk_image import DiskImage
    try:
        parts = partition_offsets(image_path)
    except (ValueError, OSError):
        parts = []
    store = next(((start // SECTOR_SIZE, size // SECTOR_SIZE) for start, size, kind in parts
                  if kind == OBJECT_STORE_TYPE), None)
    if store is None:
        return DiskImage(image_path), None
    return DiskImage(image_path, fenced=[store]), DiskImage(image_path, window=store)


def find_mke2fs() -> str:
    for candidate in (shutil.which("mke2fs"), "/usr/sbin/mke2fs", "/sbin/mke2fs"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise FileNotFoundError("mke2fs not found: install e2fsprogs")


class DoesNotFit(ValueError):
    """The tree is bigger than the file system: the message says how big a disk it needs."""


def tree_bytes(root_dir, block_size: int = EXT2_BLOCK_SIZE) -> tuple[int, int]:
    """(bytes the tree takes in whole blocks, number of files and directories) of root_dir."""
    used, count = 0, 0
    for top, dirs, files in os.walk(root_dir):
        for name in dirs + files:
            st = os.lstat(os.path.join(top, name))
            count += 1
            used += -(-st.st_size // block_size) * block_size
    return used, count


def size_needed(root_dir, block_size: int = EXT2_BLOCK_SIZE) -> int:
    """A disk size (whole MiB) whose ext2 partition holds root_dir with room to spare:
    the data and its indirect blocks, an inode per 16 KiB (mke2fs's default), 5% reserved
    and group metadata; then the object store's eighth and the first MiB."""
    data, count = tree_bytes(root_dir, block_size)
    fs = (data * 1.1 + count * 512 + 4 * MIB) / 0.95 * (1 + 256 / 16384)
    disk = (fs + FIRST_PARTITION_LBA * SECTOR_SIZE) * 8 / 7
    return -(-int(disk) // MIB) * MIB


def size_text(n: int) -> str:
    return f'{n >> 30}G' if n % (1 << 30) == 0 else f'{n >> 20}M'


def make_ext2(fs_path, root_dir, size_bytes: int, block_size: int = EXT2_BLOCK_SIZE):
    """Make an ext2 file system of size_bytes in the file fs_path, filled from root_dir."""
    command = [find_mke2fs(), "-q", "-F", "-t", "ext2", "-b", str(block_size), "-L", "ukern",
               "-E", "root_owner=0:0"]
    if root_dir is not None:
        command += ["-d", os.fspath(root_dir)]
    command += [os.fspath(fs_path), str(size_bytes // block_size)]
    import subprocess                 # here: a run of a program never makes a disk
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode and root_dir is not None and "Could not allocate" in result.stderr:
        data, count = tree_bytes(root_dir, block_size)
        files = f"{count} file{'s' if count != 1 else ''}"
        raise DoesNotFit(f"{os.fspath(root_dir)} ({-(-data // MIB)} MiB in {files}) does not fit in an ext2 "
                         f"partition of {size_bytes // MIB} MiB")
    if result.returncode:
        why = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "no message"
        raise RuntimeError(f"mke2fs failed ({result.returncode}): {why}")


def copy_into(source_path, image, offset: int, chunk: int = MIB, window: tuple[int, int] | None = None):
    """Copy a file (or the bytes [start, end) of it: window) into an open image, source
    byte i going to image byte offset + i, leaving holes and zero chunks as holes."""
    with open(source_path, "rb") as source:
        for start, end in data_extents(source.fileno()):
            if window is not None:
                start, end = max(start, window[0]), min(end, window[1])
            position = start
            while position < end:
                data = os.pread(source.fileno(), min(chunk, end - position), position)
                if not data:
                    break
                if data.count(0) != len(data):
                    os.pwrite(image.fileno(), data, offset + position)
                position += len(data)


def extract_partition(image_path, out_path, index: int = 0):
    """Partition `index` of an image alone, as a sparse file (e2fsck and debugfs take no
    offset); returns out_path."""
    start, size, _ = partition_offsets(image_path)[index]
    with open(out_path, 'wb') as out:
        out.truncate(size)
        copy_into(image_path, out, -start, window=(start, start + size))
    return out_path


def data_extents(fd: int) -> list[tuple[int, int]]:
    """The (start, end) byte ranges of a file that hold data (SEEK_DATA/SEEK_HOLE), or the
    whole file where the file system cannot tell."""
    size = os.fstat(fd).st_size
    extents, position = [], 0
    try:
        while position < size:
            start = os.lseek(fd, position, os.SEEK_DATA)
            end = os.lseek(fd, start, os.SEEK_HOLE)
            extents.append((start, end))
            position = end
    except OSError as e:
        if e.errno == errno.ENXIO:            # no data past `position`
            return extents
        return [(0, size)]
    return extents


def copy_sparse(source, target) -> None:
    """Copy a file, keeping its holes: a 64 MiB image that holds 3 MiB takes 3 MiB."""
    with open(source, "rb") as src, open(target, "wb") as dst:
        dst.truncate(os.fstat(src.fileno()).st_size)
        copy_into(source, dst, 0)


def make_disk(image_path, root_dir=None, size_bytes: int = DEFAULT_SIZE,
              block_size: int = EXT2_BLOCK_SIZE, swap_bytes: int = 0,
              objects: int | None = None, checkpoint_bytes: int | None = None) -> list[tuple[int, int, int]]:
    """Write a partitioned disk image; returns partition_offsets() of the result.  On a
    failure (DoesNotFit: the message names the size that would do) no image is left."""
    try:
        return _make_disk(image_path, root_dir, size_bytes, block_size, swap_bytes, objects,
                          checkpoint_bytes)
    except DoesNotFit as e:
        _remove(image_path)
        raise DoesNotFit(f"{e}: it needs about --size {size_text(size_needed(root_dir, block_size))}") from None
    except BaseException:
        _remove(image_path)
        raise


def _remove(path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _make_disk(image_path, root_dir, size_bytes: int, block_size: int, swap_bytes: int,
               objects: int | None, checkpoint_bytes: int | None = None) -> list[tuple[int, int, int]]:
    partitions = plan_partitions(size_bytes, swap_bytes)
    ext2_lba, ext2_sectors, _ = partitions[0]
    last_lba, last_count, _ = partitions[-1]
    with open(image_path, "wb") as image:
        image.truncate((last_lba + last_count) * SECTOR_SIZE)   # sparse: unwritten space reads as zero
        image.write(build_mbr(partitions))
        with tempfile.TemporaryDirectory() as scratch:
            fs_path = os.path.join(scratch, "ext2.img")
            make_ext2(fs_path, root_dir, ext2_sectors * SECTOR_SIZE, block_size)
            add_device_nodes(fs_path, block_size)
            copy_into(fs_path, image, ext2_lba * SECTOR_SIZE)
    from kernel.obj.store import format_image
    store_lba, store_sectors, _ = partitions[1]
    format_image(image_path, store_lba * SECTOR_SIZE, store_sectors, objects,
                 None if checkpoint_bytes is None else checkpoint_bytes // SECTOR_SIZE // 2 * 2)
    return partition_offsets(image_path)


# The device files every ukern root has: (name, type bits, major, minor).
DEVICE_NODES = (("console", 0o020000, 5, 1),      # S_IFCHR: the console
                ("null", 0o020000, 1, 3),         # S_IFCHR: reads end of file, writes vanish
                ("zero", 0o020000, 1, 5),         # S_IFCHR: reads zeros
                ("disk0", 0o060000, 8, 0))        # S_IFBLK: the raw boot disk


def add_device_nodes(fs_path, block_size: int) -> None:
    """mke2fs -d copies only what the host lets it: make /dev's nodes with ukern's ext2."""
    from kernel.fs.blockdev import FileBlockDevice, run_sync
    from kernel.fs.ext2 import Ext2, FsError, ROOT
    with FileBlockDevice(fs_path, 0, block_size) as dev:
        fs = Ext2(dev)
        run_sync(fs.mount())
        try:
            dev_dir = run_sync(fs.lookup("/dev"))
        except FsError:
            dev_dir = run_sync(fs.mkdir(ROOT, "dev", 0o755))
        existing = {name for name, _, _ in run_sync(fs.readdir(dev_dir))}
        for name, kind, major, minor in DEVICE_NODES:
            if name not in existing:
                run_sync(fs.mknod(dev_dir, name, kind | 0o660, major, minor))
        run_sync(fs.unmount())


def parse_size(text: str) -> int:
    """'64M' -> 67108864; plain numbers are bytes."""
    original, text = text, text.strip().upper().removesuffix("B").removesuffix("I")
    scale = SIZE_SUFFIXES.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in SIZE_SUFFIXES else text
    try:
        size = int(number) * scale
        if size < 0:
            raise ValueError
        return size
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad size {original!r}: use e.g. 64M, 1G or bytes") from None


def main(argv: list[str] | None = None) -> int:
    from kernel.cmdline import Parser
    parser = Parser(prog="ukern mkdisk", description=__doc__.splitlines()[0])
    parser.add_argument("image", help="disk image to write (overwritten)")
    parser.add_argument("--root", help="directory whose contents go into the ext2 partition")
    parser.add_argument("--size", type=parse_size, default=DEFAULT_SIZE, help="disk size, e.g. 64M")
    parser.add_argument("--swap", type=parse_size, default=0,
                        help="add a swap partition of this size (partition 3), e.g. 64M")
    parser.add_argument("--objects", type=int, default=None, metavar="N",
                        help="object store (partition 2): N pages and N nodes (default: all that fit)")
    parser.add_argument("--checkpoint", type=parse_size, default=None, metavar="SIZE",
                        help="the object store's checkpoint area (two halves: one checkpoint "
                        "fits in half), e.g. 1M (default: an eighth of the store)")
    args = parser.parse_args(argv)
    if args.root is not None and not os.path.isdir(args.root):
        parser.error(f"--root {args.root}: not a directory")
    if args.size + args.swap > MAX_SIZE:
        parser.error(f"a disk of {size_text(args.size + args.swap)} is more than ukern's limit of "
                     f"{size_text(MAX_SIZE)} (--size plus --swap)")
    try:
        partitions = make_disk(args.image, args.root, args.size, swap_bytes=args.swap,
                               objects=args.objects, checkpoint_bytes=args.checkpoint)
    except (ValueError, RuntimeError, OSError) as err:
        if isinstance(err, OSError) and err.strerror:
            err = f"{err.filename or args.image}: {err.strerror}"
        print(f"ukern mkdisk: {err}", file=sys.stderr)
        return 1
    for number, (start, size, kind) in enumerate(partitions, 1):
        print(f"{args.image}: partition {number}: type 0x{kind:02x}, "
              f"{size // MIB} MiB at byte {start}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
