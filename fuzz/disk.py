"""The disk-image fuzzer: corrupt the ext2 metadata of a small image made by
kernel.tools.mkdisk, boot from it and run a few programs that read and write it.

The property: the boot either mounts the file system (and every operation on it then returns
data or an error to the guest) or is refused with a one-line reason; no Python exception
escapes the kernel and no run hangs (each program is bounded by virtual time, the whole image
by a host timeout).

Corruptions target metadata, found by walking the image as ext2 lays it out
(kernel/fs/ext2_layout.py): superblock fields, group descriptors, block and inode bitmaps,
the used inodes' fields (mode, sizes, link counts, block pointers, flags), directory entries
(inode, rec_len, name_len, file_type), indirect blocks, and symlink targets.  Values are
boundaries (0, all ones, 2**31, one past the end of the file system) or neighbours of the
old value, so that each corruption is plausible enough to get past the first check.
"""

import atexit
import hashlib
import json
import random
import re
import shutil
import struct
import tempfile
from functools import lru_cache
from pathlib import Path

from .common import USERLAND, Finding, boot, guarded, host_time_is_up, run_process, save

# The programs run from each image, one after the other (from the host's build: a corrupt
# /bin must not stop the file-system operations from being tried), after the first of them
# once as exec finds it on the image (paged in from its file, whatever its inode says).
WORKLOAD = (('ls', '-l', '/', '/bin', '/many', '/etc', '/deep/a/b'),
            ('wc', '-c', '/big', '/etc/motd', '/etc/link', '/etc/longlink', '/many/f7', '/bin/ls'),
            ('cp', '/big', '/copy'),
            ('mkdir', '/newdir'),
            ('rm', '/many/f3', '/etc/link'),
            ('mv', '/etc/motd', '/deep/a/motd'),
            ('ls', '-l', '/', '/deep/a'))
BLOCK_SIZES = (1024, 4096)
IMAGE_SIZE = 8 << 20
VIRTUAL_LIMIT_NS = 1_000_000_000   # each program: 1 s of virtual time (cp waits 0.5 s for writeback)
HOST_LIMIT_S = 30                  # the whole workload of one image


def make_root(where: Path) -> Path:
    """A small tree that needs every kind of metadata: a multi-block directory, a file
    with indirect (and, at 1 KiB blocks, double-indirect) blocks, fast and slow symlinks."""
    root = where / 'root'
    (root / 'bin').mkdir(parents=True)
    for prog in ('ls', 'wc', 'cat'):
        shutil.copy(USERLAND / 'bin' / prog, root / 'bin' / prog)
    (root / 'etc').mkdir()
    (root / 'etc' / 'motd').write_text('hello from a fuzzed disk\n')
    (root / 'etc' / 'link').symlink_to('motd')
    (root / 'etc' / 'longlink').symlink_to('../etc/' + './' * 30 + 'motd')   # over 60 bytes: a slow symlink
    (root / 'many').mkdir()
    for i in range(120):
        (root / 'many' / f'f{i}').write_text(f'file {i}\n' * (i % 5))
    (root / 'deep' / 'a' / 'b').mkdir(parents=True)
    (root / 'big').write_bytes(bytes(range(256)) * 1200)    # 300 KiB
    return root


@lru_cache(maxsize=None)
def base_image(block_size: int) -> tuple[Path, int]:
    """(the pristine image, the byte offset of its ext2 partition), made once per process."""
    from kernel.tools.mkdisk import make_disk
    where = Path(tempfile.mkdtemp(prefix='ukern-fuzz-disk-'))
    atexit.register(shutil.rmtree, where, True)     # the process's cache: gone with it
    image = where / f'base-{block_size}.img'
    offsets = make_disk(image, make_root(where), IMAGE_SIZE, block_size=block_size)
    return image, offsets[0][0]


class Layout:
    """Where the metadata of an ext2 file system lies, read from its bytes (partition-relative
    offsets), as candidate (offset, size, label) fields for corruption."""

    def __init__(self, fs: bytes):
        from kernel.fs.ext2_layout import Superblock, SUPERBLOCK_OFFSET
        self.fs = fs
        self.sb = Superblock.from_buffer_copy(fs, SUPERBLOCK_OFFSET)
        self.bs = 1024 << self.sb.s_log_block_size
        self.inode_size = self.sb.s_inode_size or 128
        self.groups = -(-self.sb.s_blocks_count // self.sb.s_blocks_per_group)
        self.gdt = (self.sb.s_first_data_block + 1) * self.bs
        self.fields: dict[str, list[tuple[int, int, str]]] = {}
        self._superblock()
        self._groups()
        self._inodes()

    def u32(self, off: int) -> int:
        return struct.unpack_from('<I', self.fs, off)[0]

    def _struct_fields(self, cls, base: int, label: str):
        return [(base + getattr(cls, name).offset, getattr(cls, name).size, f'{label}.{name}')
                for name, _ in cls._fields_ if not name.endswith(('reserved', 'reserved2'))]

    def _superblock(self):
        from kernel.fs.ext2_layout import Superblock, SUPERBLOCK_OFFSET
        self.fields['superblock'] = [f for f in self._struct_fields(Superblock, SUPERBLOCK_OFFSET, 'sb')
                                     if f[1] <= 8]

    def _groups(self):
        from kernel.fs.ext2_layout import GroupDesc
        gd, bitmaps = [], []
        self.tables = []
        for g in range(self.groups):
            base = self.gdt + 32 * g
            gd += [f for f in self._struct_fields(GroupDesc, base, f'gd{g}') if f[1] <= 4]
            for which, at in (('block', 0), ('inode', 4)):
                block = self.u32(base + at)
                bitmaps.append((block * self.bs, self.bs, f'{which} bitmap {g}'))
            self.tables.append((self.u32(base + 4), self.u32(base + 8)))
        self.fields['group descriptors'] = gd
        self.metadata_blocks = [self.sb.s_first_data_block, self.gdt // self.bs] + [
            b for bitmap, table in self.tables for b in (bitmap, table, table + 1)] + [
            off // self.bs for off, _, _ in bitmaps]
        self.fields['bitmaps'] = bitmaps

    def _inodes(self):
        """The used inodes: their fields, and the blocks they point at (directory blocks,
        indirect blocks, slow symlink targets)."""
        from kernel.fs.ext2_layout import Inode
        inodes, dirs, indirect, links = [], [], [], []
        ipg = self.sb.s_inodes_per_group
        for g, (ibitmap, table) in enumerate(self.tables):
            bits = self.fs[ibitmap * self.bs:ibitmap * self.bs + ipg // 8]
            for i in range(ipg):
                if not bits[i // 8] >> (i % 8) & 1 or (g == 0 and i < 10 and i != 1):
                    continue
                at = table * self.bs + i * self.inode_size
                ino = Inode.from_buffer_copy(self.fs, at)
                inodes += self._struct_fields(Inode, at, f'inode {g * ipg + i + 1}')
                kind = ino.i_mode & 0o170000
                blocks = [b for b in ino.i_block[:12] if b]
                if kind == 0o040000:
                    dirs += [(b * self.bs, self.bs, f'dir block {b}') for b in blocks]
                elif kind == 0o120000:
                    links.append((at + 40, 60, f'symlink {g * ipg + i + 1}') if not ino.i_blocks
                                 else (blocks[0] * self.bs, self.bs, f'symlink block {blocks[0]}'))
                for level in (12, 13):
                    if ino.i_block[level]:
                        b = ino.i_block[level]
                        indirect.append((b * self.bs, self.bs, f'indirect block {b}'))
        self.fields['inodes'] = inodes
        self.fields['directory blocks'] = dirs
        self.fields['indirect blocks'] = indirect
        self.fields['symlinks'] = links


MODES = (0o040755, 0o100644, 0o120777, 0o010644, 0o140644, 0o020644, 0o060644, 0, 0o170777)


def boundary(size: int, rng: random.Random, old: int, layout: Layout, label: str = '') -> int:
    """A value for a field: a boundary, a neighbour of the old value, or (for block
    pointers and modes) a block of other metadata or another file type."""
    top = (1 << (8 * size)) - 1
    blocks = layout.sb.s_blocks_count
    if label.endswith('i_mode') and rng.random() < 0.7:
        return rng.choice(MODES)
    choices = [0, 1, 2, top, top >> 1, (top >> 1) + 1, old + 1, old - 1, old * 2, old // 2,
               blocks, blocks - 1, blocks + 1, layout.sb.s_inodes_count + 1, 11, 12, 13,
               layout.bs, layout.bs - 1, layout.bs + 4, old ^ (1 << rng.randrange(8 * size)),
               rng.getrandbits(8 * size)]
    if 'block' in label or 'bitmap' in label or 'table' in label or 'indirect' in label:
        choices += [rng.choice(layout.metadata_blocks)] * 6
    return rng.choice(choices) & top


def _dir_entry_field(region: tuple[int, int, str], layout: Layout, rng: random.Random):
    """A field of an entry of a directory block: walk the records to a random one."""
    start, size, label = region
    at, entries = start, []
    while at + 8 <= start + size:
        entries.append(at)
        rec_len = struct.unpack_from('<H', layout.fs, at + 4)[0]
        if rec_len < 8:
            break
        at += rec_len
    entry = rng.choice(entries or [start])
    off, width, name = rng.choice(((0, 4, 'inode'), (4, 2, 'rec_len'), (6, 1, 'name_len'),
                                   (7, 1, 'file_type'), (8, 1, 'name[0]')))
    return entry + off, width, f'{label} entry at {entry - start}: {name}'


def corrupt(layout: Layout, rng: random.Random) -> list[tuple[int, bytes, str]]:
    """One to six patches (partition offset, new bytes, what) on metadata."""
    patches = []
    for _ in range(rng.choice((1, 1, 2, 3, 6))):
        area = rng.choice([a for a, f in layout.fields.items() if f])
        region = rng.choice(layout.fields[area])
        if area == 'directory blocks' and rng.random() < 0.8:
            region = _dir_entry_field(region, layout, rng)
        off, size, label = region
        if size > 8:                       # a block or a byte run: some bytes or words in it
            if rng.random() < 0.5:
                at = off + rng.randrange(size // 4) * 4
                value = boundary(4, rng, struct.unpack_from('<I', layout.fs, at)[0], layout, label)
                patches.append((at, value.to_bytes(4, 'little'), f'{label} +{at - off}={value:#x}'))
            else:
                at = off + rng.randrange(size)
                value = rng.randrange(256)
                patches.append((at, bytes([value]), f'{label} byte +{at - off}={value:#x}'))
            continue
        old = int.from_bytes(layout.fs[off:off + size], 'little')
        value = boundary(size, rng, old, layout, label)
        patches.append((off, value.to_bytes(size, 'little'), f'{label}={value:#x}'))
    return patches


def build_image(block_size: int, patches, where: Path) -> Path:
    from kernel.tools.mkdisk import copy_sparse
    base, start = base_image(block_size)
    image = where / 'fuzz.img'
    copy_sparse(base, image)
    with open(image, 'r+b') as f:
        for off, data, _ in patches:
            f.seek(start + off)
            f.write(data)
    return image


def run_image(image: Path) -> str:
    """Boot from the image and run the workload; the outcomes, or an exception (a finding)."""
    from kernel.fs.mount import BootError
    from kernel.fs.fserror import FsError
    kernel, out, log = boot(mem=32 << 20, disk=image)
    try:
        kernel.mount_root()
    except (BootError, FsError, OSError, ValueError) as e:
        if '\n' in str(e):
            raise AssertionError(f'a boot refusal of more than one line: {e!r}')
        return 'refused at boot: ' + re.sub(r'0x[0-9a-f]+|\d+', 'N', str(e))[:70]
    results = [run_from_disk(kernel, WORKLOAD[0])]
    for argv in WORKLOAD:
        if host_time_is_up():
            break
        data = (USERLAND / 'bin' / argv[0]).read_bytes()
        p = kernel.spawn(data, [f'/bin/{argv[0]}'.encode()] + [a.encode() for a in argv[1:]], [])
        results.append(run_process(kernel, p, VIRTUAL_LIMIT_NS))
    if not host_time_is_up():
        kernel.shutdown()
    return 'mounted: ' + ', '.join(sorted(set(results)))


def run_from_disk(kernel, argv) -> str:
    """The program as exec finds it on the (corrupted) disk, paged in from its file: it
    runs, or exec refuses it in one line."""
    from kernel.fs.fserror import FsError
    from kernel.proc.elf import ExecError
    path = f'/bin/{argv[0]}'.encode()
    try:
        program, exe = kernel.read_guest_program(path)
        p = kernel.spawn(program, [path] + [a.encode() for a in argv[1:]], [], exe=exe)
    except FsError as e:
        return f'exec from the disk: errno {e.errno}'
    except ExecError as e:
        if '\n' in str(e):
            raise AssertionError(f'an exec refusal of more than one line: {e!r}')
        return 'exec from the disk refused'
    return 'from the disk: ' + run_process(kernel, p, VIRTUAL_LIMIT_NS)


def run_one(block_size: int, patches) -> str:
    with tempfile.TemporaryDirectory(prefix='ukern-fuzz-') as where:
        return run_image(build_image(block_size, patches, Path(where)))


@lru_cache(maxsize=None)
def _layout(block_size: int) -> Layout:
    from kernel.tools.mkdisk import partition_offsets
    image, start = base_image(block_size)
    _, size, _ = partition_offsets(image)[0]
    with open(image, 'rb') as f:
        f.seek(start)
        return Layout(f.read(size))


def fuzz(tally, rng: random.Random, count: int, keep: bool = True) -> None:
    for _ in range(count):
        block_size = rng.choice(BLOCK_SIZES)
        patches = corrupt(_layout(block_size), rng)
        try:
            tally.record(guarded(run_one, block_size, patches, seconds=HOST_LIMIT_S))
        except Finding as f:
            meta = {'block_size': block_size, 'finding': f.text.strip().splitlines()[-1],
                    'patches': [[off, data.hex(), what] for off, data, what in patches]}
            name = 'disk-' + hashlib.sha1(json.dumps(meta['patches']).encode()).hexdigest()[:12]
            tally.finding(f, save('disk', name, b'', meta) if keep else '')


def replay(path: Path, meta: dict) -> str:
    patches = [(off, bytes.fromhex(data), what) for off, data, what in meta['patches']]
    return run_one(meta['block_size'], patches)
