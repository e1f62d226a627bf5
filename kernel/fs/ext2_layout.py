"""ext2 on-disk layout: the superblock, group descriptor, inode and directory entry.

Everything here is a fixed-size little-endian record as it sits on the disk (revision 1,
"dynamic" ext2; see nongnu.org/ext2-doc).  ext2.py reads blocks from the device and views
them through these ctypes structures; nothing here does I/O.

Disk picture (block size B = 1, 2 or 4 KiB):

    byte 1024: superblock (1 KiB), in block 1 if B = 1 KiB, else in block 0
    block s_first_data_block + 1: group descriptor table, 32 bytes per group
    each group: [backup sb + gdt] block bitmap, inode bitmap, inode table, data blocks
"""

import ctypes
import enum
import struct

SUPERBLOCK_OFFSET = 1024
SUPERBLOCK_SIZE = 1024
EXT2_MAGIC = 0xEF53
ROOT_INO = 2                  # inode 1 holds bad blocks; the root directory is always 2
GOOD_OLD_INODE_SIZE = 128
NDIR_BLOCKS = 12              # i_block[0..11] point straight at data
IND_BLOCK, DIND_BLOCK, TIND_BLOCK = 12, 13, 14
N_BLOCKS = 15
NAME_MAX = 255
LINK_MAX = 32000              # Linux's EXT2_LINK_MAX
EA_MAGIC = 0xEA020000         # header of an extended-attribute block


class State(enum.IntEnum):
    VALID = 1                 # unmounted cleanly
    ERROR = 2


class CompatFeature(enum.IntFlag):
    """Features an implementation may ignore completely."""
    DIR_PREALLOC = 0x1
    IMAGIC_INODES = 0x2
    HAS_JOURNAL = 0x4
    EXT_ATTR = 0x8
    RESIZE_INODE = 0x10
    DIR_INDEX = 0x20


class IncompatFeature(enum.IntFlag):
    """Features an implementation must understand to mount at all."""
    COMPRESSION = 0x1
    FILETYPE = 0x2
    RECOVER = 0x4
    JOURNAL_DEV = 0x8
    META_BG = 0x10
    EXTENTS = 0x40
    BIT64 = 0x80
    MMP = 0x100
    FLEX_BG = 0x200
    INLINE_DATA = 0x8000


class RoCompatFeature(enum.IntFlag):
    """Features an implementation must understand to write; it may still read."""
    SPARSE_SUPER = 0x1
    LARGE_FILE = 0x2
    BTREE_DIR = 0x4
    HUGE_FILE = 0x8
    GDT_CSUM = 0x10
    DIR_NLINK = 0x20
    EXTRA_ISIZE = 0x40
    METADATA_CSUM = 0x400


SUPPORTED_INCOMPAT = IncompatFeature.FILETYPE
# sparse_super only changes where backups live, and the bitmaps already mark those blocks.
SUPPORTED_RO_COMPAT = RoCompatFeature.SPARSE_SUPER | RoCompatFeature.LARGE_FILE | RoCompatFeature.BTREE_DIR


class InodeType(enum.IntEnum):
    """The file-type part of i_mode (i_mode & S_IFMT); the low 12 bits are permissions."""
    S_IFIFO = 0o010000
    S_IFCHR = 0o020000
    S_IFDIR = 0o040000
    S_IFBLK = 0o060000
    S_IFREG = 0o100000
    S_IFLNK = 0o120000
    S_IFSOCK = 0o140000


S_IFMT = 0o170000
S_IPERM = 0o7777              # permission bits plus setuid, setgid, sticky


class FileType(enum.IntEnum):
    """The file_type byte of a directory entry (filetype feature)."""
    UNKNOWN = 0
    REG_FILE = 1
    DIR = 2
    CHRDEV = 3
    BLKDEV = 4
    FIFO = 5
    SOCK = 6
    SYMLINK = 7


FILE_TYPE_OF = {
    InodeType.S_IFREG: FileType.REG_FILE, InodeType.S_IFDIR: FileType.DIR,
    InodeType.S_IFCHR: FileType.CHRDEV, InodeType.S_IFBLK: FileType.BLKDEV,
    InodeType.S_IFIFO: FileType.FIFO, InodeType.S_IFSOCK: FileType.SOCK,
    InodeType.S_IFLNK: FileType.SYMLINK,
}


class InodeFlag(enum.IntFlag):
    """i_flags bits this implementation has to know about."""
    INDEX = 0x1000            # hashed (htree) directory; we keep such dirs linear instead
    EXTENTS = 0x80000         # ext4 extent tree in i_block: not ext2
    INLINE_DATA = 0x10000000


class Superblock(ctypes.LittleEndianStructure):
    _pack_ = 1
    _fields_ = [
        ("s_inodes_count", ctypes.c_uint32),
        ("s_blocks_count", ctypes.c_uint32),
        ("s_r_blocks_count", ctypes.c_uint32),
        ("s_free_blocks_count", ctypes.c_uint32),
        ("s_free_inodes_count", ctypes.c_uint32),
        ("s_first_data_block", ctypes.c_uint32),
        ("s_log_block_size", ctypes.c_uint32),     # block size = 1024 << this
        ("s_log_frag_size", ctypes.c_uint32),
        ("s_blocks_per_group", ctypes.c_uint32),
        ("s_frags_per_group", ctypes.c_uint32),
        ("s_inodes_per_group", ctypes.c_uint32),
        ("s_mtime", ctypes.c_uint32),
        ("s_wtime", ctypes.c_uint32),
        ("s_mnt_count", ctypes.c_uint16),
        ("s_max_mnt_count", ctypes.c_int16),
        ("s_magic", ctypes.c_uint16),
        ("s_state", ctypes.c_uint16),
        ("s_errors", ctypes.c_uint16),
        ("s_minor_rev_level", ctypes.c_uint16),
        ("s_lastcheck", ctypes.c_uint32),
        ("s_checkinterval", ctypes.c_uint32),
        ("s_creator_os", ctypes.c_uint32),
        ("s_rev_level", ctypes.c_uint32),
        ("s_def_resuid", ctypes.c_uint16),
        ("s_def_resgid", ctypes.c_uint16),
        # revision 1 ("dynamic") fields
        ("s_first_ino", ctypes.c_uint32),
        ("s_inode_size", ctypes.c_uint16),
        ("s_block_group_nr", ctypes.c_uint16),
        ("s_feature_compat", ctypes.c_uint32),
        ("s_feature_incompat", ctypes.c_uint32),
        ("s_feature_ro_compat", ctypes.c_uint32),
        ("s_uuid", ctypes.c_uint8 * 16),
        ("s_volume_name", ctypes.c_char * 16),
        ("s_last_mounted", ctypes.c_char * 64),
        ("s_algo_bitmap", ctypes.c_uint32),
        ("s_prealloc_blocks", ctypes.c_uint8),
        ("s_prealloc_dir_blocks", ctypes.c_uint8),
        ("s_reserved_gdt_blocks", ctypes.c_uint16),
        ("s_journal_uuid", ctypes.c_uint8 * 16),
        ("s_journal_inum", ctypes.c_uint32),
        ("s_journal_dev", ctypes.c_uint32),
        ("s_last_orphan", ctypes.c_uint32),
        ("s_hash_seed", ctypes.c_uint32 * 4),
        ("s_def_hash_version", ctypes.c_uint8),
        ("s_jnl_backup_type", ctypes.c_uint8),
        ("s_desc_size", ctypes.c_uint16),
        ("s_default_mount_opts", ctypes.c_uint32),
        ("s_first_meta_bg", ctypes.c_uint32),
        # ext3/ext4 fields follow; kept byte for byte so we never disturb them
        ("s_rest", ctypes.c_uint8 * 760),
    ]

    @property
    def block_size(self) -> int:
        return 1024 << self.s_log_block_size

    @property
    def inode_size(self) -> int:
        return self.s_inode_size if self.s_rev_level else GOOD_OLD_INODE_SIZE

    @property
    def group_count(self) -> int:
        return ceil_div(self.s_blocks_count - self.s_first_data_block, self.s_blocks_per_group)

    def problem(self) -> str | None:
        """Why this superblock cannot be mounted, or None if it looks sane."""
        if self.s_magic != EXT2_MAGIC:
            return f"not an ext2 file system: bad magic 0x{self.s_magic:04x} (expected 0x{EXT2_MAGIC:04X})"
        if self.s_rev_level > 1:
            return f"unsupported ext2 revision {self.s_rev_level}"
        if self.s_log_block_size > 2:
            return f"unsupported block size (log {self.s_log_block_size}); only 1, 2 and 4 KiB"
        unsupported = IncompatFeature(self.s_feature_incompat & ~SUPPORTED_INCOMPAT)
        if unsupported:
            return f"unsupported incompatible features: {unsupported!r} (ext3 or ext4?)"
        bs, isize = self.block_size, self.inode_size
        if (self.s_blocks_count == 0 or not 0 < self.s_blocks_per_group <= 8 * bs
                or not 0 < self.s_inodes_per_group <= 8 * bs
                or self.s_first_data_block != (1 if bs == 1024 else 0)
                or not GOOD_OLD_INODE_SIZE <= isize <= bs or isize & (isize - 1)):
            return "corrupt superblock: impossible geometry"
        if (self.s_inodes_count != self.group_count * self.s_inodes_per_group
                or self.s_free_blocks_count > self.s_blocks_count
                or self.s_free_inodes_count > self.s_inodes_count):
            return "corrupt superblock: counts do not add up"
        return None


assert ctypes.sizeof(Superblock) == SUPERBLOCK_SIZE


class GroupDesc(ctypes.LittleEndianStructure):
    _pack_ = 1
    _fields_ = [
        ("bg_block_bitmap", ctypes.c_uint32),
        ("bg_inode_bitmap", ctypes.c_uint32),
        ("bg_inode_table", ctypes.c_uint32),
        ("bg_free_blocks_count", ctypes.c_uint16),
        ("bg_free_inodes_count", ctypes.c_uint16),
        ("bg_used_dirs_count", ctypes.c_uint16),
        ("bg_flags", ctypes.c_uint16),
        ("bg_reserved", ctypes.c_uint8 * 12),
    ]


GROUP_DESC_SIZE = 32
assert ctypes.sizeof(GroupDesc) == GROUP_DESC_SIZE


class Inode(ctypes.LittleEndianStructure):
    """The first 128 bytes of an inode slot; larger slots keep their extra bytes untouched."""
    _pack_ = 1
    _fields_ = [
        ("i_mode", ctypes.c_uint16),
        ("i_uid", ctypes.c_uint16),
        ("i_size", ctypes.c_uint32),
        ("i_atime", ctypes.c_uint32),
        ("i_ctime", ctypes.c_uint32),
        ("i_mtime", ctypes.c_uint32),
        ("i_dtime", ctypes.c_uint32),
        ("i_gid", ctypes.c_uint16),
        ("i_links_count", ctypes.c_uint16),
        ("i_blocks", ctypes.c_uint32),             # in 512-byte sectors, metadata included
        ("i_flags", ctypes.c_uint32),
        ("i_osd1", ctypes.c_uint32),
        ("i_block", ctypes.c_uint32 * N_BLOCKS),
        ("i_generation", ctypes.c_uint32),
        ("i_file_acl", ctypes.c_uint32),           # extended-attribute block
        ("i_size_high", ctypes.c_uint32),          # i_dir_acl in old docs; large_file uses it
        ("i_faddr", ctypes.c_uint32),
        ("l_i_blocks_hi", ctypes.c_uint16),
        ("l_i_file_acl_high", ctypes.c_uint16),
        ("l_i_uid_high", ctypes.c_uint16),
        ("l_i_gid_high", ctypes.c_uint16),
        ("l_i_reserved2", ctypes.c_uint32),
    ]


assert ctypes.sizeof(Inode) == GOOD_OLD_INODE_SIZE


class DirEntryHeader(ctypes.LittleEndianStructure):
    """Directory entry: this header, then name_len bytes of name, padded to 4 bytes.

    rec_len is the distance to the next entry; the last entry of a block stretches to the
    block's end, and deleting an entry just folds its rec_len into the one before it.
    """
    _pack_ = 1
    _fields_ = [
        ("inode", ctypes.c_uint32),                # 0 = unused slot
        ("rec_len", ctypes.c_uint16),
        ("name_len", ctypes.c_uint8),
        ("file_type", ctypes.c_uint8),             # high byte of name_len without filetype
    ]


DIR_ENTRY_HEADER_SIZE = 8
assert ctypes.sizeof(DirEntryHeader) == DIR_ENTRY_HEADER_SIZE


class XattrHeader(ctypes.LittleEndianStructure):
    """Start of an extended-attribute block; several inodes may share one (h_refcount)."""
    _pack_ = 1
    _fields_ = [
        ("h_magic", ctypes.c_uint32),
        ("h_refcount", ctypes.c_uint32),
        ("h_blocks", ctypes.c_uint32),
        ("h_hash", ctypes.c_uint32),
        ("h_checksum", ctypes.c_uint32),
        ("h_reserved", ctypes.c_uint32 * 3),
    ]


assert ctypes.sizeof(XattrHeader) == 32


def dir_entry_size(name_len: int) -> int:
    """Bytes an entry with this name needs: header plus name, rounded up to 4."""
    return (DIR_ENTRY_HEADER_SIZE + name_len + 3) & ~3


def dir_entries(block: bytearray):
    """Yield (offset, header, name) for every record in a directory block, used or not.

    The headers are views into `block`, so changing one changes the block.  A record that
    would run past the block or is too short to hold its name means a corrupt directory.
    """
    offset = 0
    while offset < len(block):
        header = DirEntryHeader.from_buffer(block, offset)
        if (header.rec_len < DIR_ENTRY_HEADER_SIZE or header.rec_len % 4
                or offset + header.rec_len > len(block)
                or header.inode and dir_entry_size(header.name_len) > header.rec_len):
            raise ValueError(f"corrupt directory entry at offset {offset}")
        name = bytes(block[offset + DIR_ENTRY_HEADER_SIZE:offset + DIR_ENTRY_HEADER_SIZE + header.name_len])
        yield offset, header, name
        offset += header.rec_len


# inode, rec_len, name_len of a DirEntryHeader, read without building a ctypes view
DIR_RECORD = struct.Struct("<IHB")


def dir_records(block) -> list[tuple[int, int, int, int]]:
    """(offset, inode, rec_len, name_len) of every record in a directory block, with the
    same checks as dir_entries but no header objects or names: the cheap walk that
    directory updates use."""
    out = []
    offset, size = 0, len(block)
    unpack = DIR_RECORD.unpack_from
    while offset < size:
        if offset + DIR_ENTRY_HEADER_SIZE > size:
            raise ValueError(f"corrupt directory entry at offset {offset}")
        ino, rec_len, name_len = unpack(block, offset)
        if (rec_len < DIR_ENTRY_HEADER_SIZE or rec_len % 4 or offset + rec_len > size
                or ino and (DIR_ENTRY_HEADER_SIZE + name_len + 3) & ~3 > rec_len):
            raise ValueError(f"corrupt directory entry at offset {offset}")
        out.append((offset, ino, rec_len, name_len))
        offset += rec_len
    return out


def record_room(ino: int, rec_len: int, name_len: int) -> int:
    """Bytes a record can give a new entry: all of an unused one, a live one's slack."""
    return rec_len - dir_entry_size(name_len) if ino else rec_len


def fill_gap(block: bytearray, offset: int, ino: int, name: bytes, file_type: int) -> tuple[int, int]:
    """Put a new entry in the gap of the record at offset: all of an unused record, or
    the slack after a live one, which is shortened to its name.  Returns the new entry's
    offset and the room still left after it.  The caller knows the gap fits."""
    header = DirEntryHeader.from_buffer(block, offset)
    used = dir_entry_size(header.name_len) if header.inode else 0
    room = header.rec_len - used
    if used:
        header.rec_len = used
    put_dir_entry(block, offset + used, ino, room, name, file_type)
    return offset + used, room - dir_entry_size(len(name))


def record_before(block, offset: int) -> int | None:
    """Offset of the record just before the one at offset, following the rec_len chain
    (None when it starts the block); ValueError if no record starts at offset."""
    prev, at = None, 0
    while at < offset:
        rec_len = DIR_RECORD.unpack_from(block, at)[1]
        if rec_len < DIR_ENTRY_HEADER_SIZE:
            raise ValueError(f"corrupt directory entry at offset {at}")
        prev, at = at, at + rec_len
    if at != offset:
        raise ValueError(f"no directory entry at offset {offset}")
    return prev


def remove_dir_entry(block: bytearray, offset: int, prev_offset: int | None):
    """Delete the record at offset: fold it into the one before, or mark the first unused."""
    header = DirEntryHeader.from_buffer(block, offset)
    if prev_offset is None:
        header.inode = 0
    else:
        DirEntryHeader.from_buffer(block, prev_offset).rec_len += header.rec_len


def new_dir_block(size: int, entries: list[tuple[int, bytes, int]]) -> bytearray:
    """A directory block holding (ino, name, file_type) entries, the last one padded out."""
    block = bytearray(size)
    offset = 0
    for i, (ino, name, file_type) in enumerate(entries):
        rec_len = size - offset if i == len(entries) - 1 else dir_entry_size(len(name))
        put_dir_entry(block, offset, ino, rec_len, name, file_type)
        offset += rec_len
    return block


def block_path(lbn: int, ptrs_per_block: int) -> tuple[int, tuple[int, ...]] | None:
    """Which i_block slot, then which index in each indirect block, leads to file block lbn.

    None if lbn is past what triple indirection can reach.
    """
    if lbn < NDIR_BLOCKS:
        return lbn, ()
    lbn -= NDIR_BLOCKS
    for slot, depth in ((IND_BLOCK, 1), (DIND_BLOCK, 2), (TIND_BLOCK, 3)):
        if lbn < ptrs_per_block ** depth:
            return slot, tuple(lbn // ptrs_per_block ** (depth - 1 - level) % ptrs_per_block
                               for level in range(depth))
        lbn -= ptrs_per_block ** depth
    return None


def put_dir_entry(block: bytearray, offset: int, ino: int, rec_len: int, name: bytes, file_type: int):
    """Write one directory record at `offset` in `block`."""
    header = DirEntryHeader.from_buffer(block, offset)
    header.inode, header.rec_len, header.name_len, header.file_type = ino, rec_len, len(name), file_type
    start = offset + DIR_ENTRY_HEADER_SIZE
    block[start:start + len(name)] = name


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def file_type(mode: int) -> FileType:
    return FILE_TYPE_OF.get(mode & S_IFMT, FileType.UNKNOWN)


def find_zero_bit(bitmap: bytes, start: int, limit: int) -> int:
    """Index of the first clear bit in [start, limit), or -1; ext2 numbers bits LSB first."""
    return clear_run(int.from_bytes(bitmap, "little"), start, limit, 1)[0]


def clear_run(bits: int, start: int, limit: int, want: int) -> tuple[int, int]:
    """(index, length) of the first run of clear bits in [start, limit) of a bitmap read
    as one little-endian integer, the length capped at want; (-1, 0) if every bit is set.
    Whole-integer operations, so a 32768-bit bitmap costs a few C steps, not a loop."""
    free = ~bits & ((1 << limit) - 1) & ~((1 << start) - 1)
    index = (free & -free).bit_length() - 1
    if index < 0:
        return -1, 0
    ones = free >> index                           # the run is its trailing ones
    length = (~ones & (ones + 1)).bit_length() - 1
    return index, min(length, want)


def encode_device(major: int, minor: int) -> tuple[int, int]:
    """(i_block[0], i_block[1]) for a device node, in Linux's old or new encoding."""
    if major < 256 and minor < 256:
        return major << 8 | minor, 0
    return 0, (minor & 0xFF) | (major << 8) | ((minor & ~0xFF) << 12)


def decode_device(inode: Inode) -> tuple[int, int]:
    old, new = inode.i_block[0], inode.i_block[1]
    if old:
        return old >> 8 & 0xFF, old & 0xFF
    return new >> 8 & 0xFFF, (new & 0xFF) | (new >> 12 & 0xFFF00)


def is_dir(inode: Inode) -> bool:
    return inode.i_mode & S_IFMT == InodeType.S_IFDIR


def has_block_map(inode: Inode, block_size: int) -> bool:
    """Does i_block hold block pointers?  Not for devices, fifos, sockets or fast symlinks."""
    kind = inode.i_mode & S_IFMT
    if kind == InodeType.S_IFLNK:
        xattr_sectors = block_size // 512 if inode.i_file_acl else 0
        return inode.i_blocks > xattr_sectors
    return kind in (InodeType.S_IFREG, InodeType.S_IFDIR)
