"""The buffer cache (kernel/fs/bcache.py): ext2 mounted from a disk through the AHCI driver.

Disks are made with kernel.tools.mkdisk.make_disk; the kernel boots with the image on the
HBA, mounts partition 1 with mount_root, and drives ext2 calls with run_boot as it does
at boot.  After writing, the partition is copied out and checked with `e2fsck -fn`.
"""

import io
import os
import shutil
import subprocess

import pytest

from emu.disk_image import DiskImage
from emu.machine import Machine
from kernel.dev.ahci import attach
from kernel.errno import Errno
from kernel.fs.mount import mount_root, partitions
from kernel.proc.wait import run_boot
from kernel.fs.ext2 import ROOT, FsError
from kernel.kernel import Kernel
from kernel.proc.lock import SleepLock
from kernel.proc.wait import WaitQueue
from kernel.tools import mkdisk

DISK_SIZE = 8 << 20


def tool(name: str) -> str:
    path = shutil.which(name, path=os.pathsep.join(['/usr/sbin', '/sbin', os.environ.get('PATH', '')]))
    if path is None:
        pytest.skip(f'{name} (e2fsprogs) is not installed')
    return path


@pytest.fixture
def root_dir(tmp_path):
    root = tmp_path / 'root'
    (root / 'etc').mkdir(parents=True)
    (root / 'etc' / 'motd').write_bytes(b'hello from the disk\n')
    (root / 'big').write_bytes(bytes((i * 13) & 0xFF for i in range(50_000)))
    return root


class System:
    def __init__(self, image_path, **cache_args):
        tool('mke2fs')
        self.image = DiskImage(image_path)
        self.machine = Machine(32 << 20, console_sink=lambda b: None,
                               console_source=io.BytesIO(), disks=[self.image])
        self.kernel = Kernel(self.machine, log=lambda msg: None)
        self.events = []
        self.kernel.trace.subscribe(lambda e: self.events.append(e) if e.kind == 'dma' else None)
        self.driver = attach(self.kernel)
        (self.disk,) = self.driver.disks
        self.fs, self.cache = mount_root(self.kernel, self.disk, 1, **cache_args)

    def run(self, gen):
        return run_boot(self.kernel, gen)

    def read_file(self, path: str) -> bytes:
        ino = self.run(self.fs.lookup(path))
        size = self.run(self.fs.stat(ino)).size
        return self.run(self.fs.read(ino, 0, size))

    def sync(self):
        self.run(self.fs.sync())
        self.run(self.cache.sync())


def make(tmp_path, root_dir, block_size=4096):
    path = tmp_path / 'disk.img'
    mkdisk.make_disk(path, root_dir, DISK_SIZE, block_size=block_size)
    return path


def fsck_partition(image_path, tmp_path) -> str:
    start, size, _ = mkdisk.partition_offsets(image_path)[0]
    part = tmp_path / 'part.img'
    with open(image_path, 'rb') as src, open(part, 'wb') as dst:
        src.seek(start)
        dst.write(src.read(size))
    result = subprocess.run([tool('e2fsck'), '-fn', str(part)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return str(part)


@pytest.mark.parametrize('block_size', [1024, 4096])
def test_mount_reads_a_file_through_ext2(tmp_path, root_dir, block_size):
    system = System(make(tmp_path, root_dir, block_size))
    assert system.cache.block_size == block_size
    assert system.read_file('/etc/motd') == b'hello from the disk\n'
    assert system.read_file('/big') == (root_dir / 'big').read_bytes()


def test_partition_table_read_through_the_driver(tmp_path, root_dir):
    path = make(tmp_path, root_dir)
    system = System(path)
    expected = [(start // 512, size // 512, kind)
                for start, size, kind in mkdisk.partition_offsets(path)]
    assert partitions(system.kernel, system.disk) == expected
    assert system.cache.start_lba == expected[0][0]


@pytest.mark.parametrize('block_size', [1024, 4096])
def test_write_sync_and_e2fsck_is_clean(tmp_path, root_dir, block_size):
    path = make(tmp_path, root_dir, block_size)
    system = System(path)
    data = bytes((i * 31) & 0xFF for i in range(70_000))
    etc = system.run(system.fs.lookup('/etc'))
    ino = system.run(system.fs.create(etc, 'new', 0o644))
    assert system.run(system.fs.write(ino, 0, data)) == len(data)
    system.run(system.fs.mkdir(ROOT, 'dir'))
    system.sync()
    assert system.cache.dirty_count == 0
    part = fsck_partition(path, tmp_path)
    out = subprocess.run([tool('debugfs'), '-R', 'cat /etc/new', part], capture_output=True)
    assert out.stdout == data


def test_second_read_hits_the_cache(tmp_path, root_dir):
    system = System(make(tmp_path, root_dir))
    system.read_file('/big')
    misses, reads, hits = system.cache.misses, system.cache.reads, system.cache.hits
    assert system.read_file('/big') == (root_dir / 'big').read_bytes()
    assert (system.cache.misses, system.cache.reads) == (misses, reads)
    assert system.cache.hits > hits


def test_write_block_is_write_back_until_sync(tmp_path, root_dir):
    path = make(tmp_path, root_dir)
    system = System(path)
    cache, bs = system.cache, system.cache.block_size
    blockno = 1000
    writes = cache.writes
    system.run(cache.write_block(blockno, b'\x5A' * bs))
    assert cache.writes == writes and cache.dirty_count == 1
    offset = cache.start_lba * 512 + blockno * bs
    with open(path, 'rb') as f:
        f.seek(offset)
        assert f.read(bs) == bytes(bs)
    assert system.run(cache.read_block(blockno)) == b'\x5A' * bs   # served from the cache
    cache.flush()                                                    # shutdown-style
    assert cache.dirty_count == 0 and cache.writes == writes + 1
    with open(path, 'rb') as f:
        f.seek(offset)
        assert f.read(bs) == b'\x5A' * bs


def test_sync_submits_together_so_adjacent_blocks_merge(tmp_path, root_dir):
    system = System(make(tmp_path, root_dir))
    cache, bs = system.cache, system.cache.block_size
    for n in (1203, 1201, 1202, 1500):
        system.run(cache.write_block(n, bytes([n & 0xFF]) * bs))
    system.events.clear()
    cache.flush()
    writes = [(e.args['lba'], e.args['sectors'], e.args['requests']) for e in system.events
              if e.args['phase'] == 'issue' and e.args['write']]
    per = bs // 512
    assert writes == [(cache.start_lba + 1201 * per, 3 * per, 3),
                      (cache.start_lba + 1500 * per, per, 1)]


def test_lru_evicts_clean_blocks_beyond_the_cap(tmp_path, root_dir):
    system = System(make(tmp_path, root_dir), max_blocks=16)
    cache = system.cache
    free = system.kernel.frames.free_count
    for n in range(100, 140):
        system.run(cache.read_block(n))
    assert cache.stats()["cached"] <= 16
    assert cache.evictions >= 40 - 16
    assert system.kernel.frames.free_count >= free - 16
    assert not cache.cached(100) and cache.cached(139)


def test_dirty_blocks_are_not_evicted(tmp_path, root_dir):
    system = System(make(tmp_path, root_dir), max_blocks=16, dirty_limit=64)
    cache, bs = system.cache, system.cache.block_size
    system.run(cache.write_block(900, b'\x11' * bs))
    for n in range(100, 140):
        system.run(cache.read_block(n))
    assert cache.cached(900)
    assert system.run(cache.read_block(900)) == b'\x11' * bs


def test_read_error_raises_eio(tmp_path, root_dir):
    system = System(make(tmp_path, root_dir))
    cache = system.cache
    bad = cache.start_lba + 1100 * (cache.block_size // 512)
    system.image.bad_ranges.append((bad, 1))
    with pytest.raises(FsError) as info:
        system.run(cache.read_block(1100))
    assert info.value.errno == Errno.EIO
    assert not cache.cached(1100)
    system.run(cache.read_block(1101))                   # the disk still works


def test_block_outside_the_partition_is_eio(tmp_path, root_dir):
    system = System(make(tmp_path, root_dir))
    with pytest.raises(FsError) as info:
        system.run(system.cache.read_block(10**7))
    assert info.value.errno == Errno.EIO


def test_concurrent_readers_of_one_block_share_one_dma(tmp_path, root_dir):
    system = System(make(tmp_path, root_dir))
    cache = system.cache
    reads = cache.reads
    g1, g2 = cache.read_block(1300), cache.read_block(1300)
    q1, q2 = next(g1), next(g2)                  # both wait, on the same request
    assert isinstance(q1, WaitQueue) and q1 is q2
    assert cache.reads == reads + 1
    system.kernel.run_until(lambda: cache.cached(1300))
    assert run_boot(system.kernel, g1) == run_boot(system.kernel, g2)   # resume both
    assert cache.reads == reads + 1


def test_sleep_lock_serialises_generators():
    woken = []
    lock = SleepLock(woken.append, 'ext2')
    first = lock.acquire()
    with pytest.raises(StopIteration):
        next(first)                              # free: taken without waiting
    second = lock.acquire()
    assert isinstance(next(second), WaitQueue)   # held: the second caller waits
    lock.queue.add('proc')
    lock.release()
    assert woken == ['proc']
    with pytest.raises(StopIteration):
        next(second)                             # resumed: now it holds the lock
    assert lock.held and lock.contended == 1


def test_early_writeback_starts_in_batches_not_per_block(tmp_path, root_dir):
    from kernel.fs.bcache import WRITEBACK_BATCH
    system = System(make(tmp_path, root_dir), max_blocks=4096, dirty_limit=1024)
    cache, bs = system.cache, system.cache.block_size
    starts = []
    real = cache.start_writeback
    cache.start_writeback = lambda: starts.append(1) or real()
    for n in range(100, 100 + 600):             # past half the dirty limit from the 512th on
        system.run(cache.write_block(n, bytes([n & 0xFF]) * bs))
    assert 1 <= len(starts) <= (600 - 512) // WRITEBACK_BATCH + 1
    cache.flush()
    assert cache.dirty_count == 0


def test_a_metadata_read_with_no_frame_free_waits_for_reclaim_not_enomem(disk):
    # Every free frame is taken; the cache still holds clean blocks it read at mount.  A
    # metadata read of a block not cached asks reclaim for room (which drops clean
    # blocks) and goes on, as a page fault would, instead of failing the call (ENOMEM).
    from conftest import boot
    from kernel.mm.frames import OutOfMemory
    from kernel.proc.wait import run_boot
    kernel, _, _ = boot(disk=disk)
    cache = kernel.vfs.cache
    uncached = next(n for n in range(1, 4096) if cache.peek(n) is None)
    taken = []
    try:
        while True:
            try:
                taken.append(kernel.frames.alloc())
            except OutOfMemory:
                break
        data = run_boot(kernel, cache.read_block(uncached))
    finally:
        for frame in taken:
            kernel.frames.release(frame)
    assert len(data) == cache.block_size
    assert kernel.vmstat['pgsteal_cache'] > 0


def test_a_block_read_is_not_dropped_before_its_reader_runs_again(tmp_path, root_dir):
    # Reclaim runs between a read's completion and the reader's return to it (the kernel's
    # loop balances memory before it picks the woken process): the block must still be
    # there then, or the reader would read it again, and again, for ever.
    system = System(make(tmp_path, root_dir))
    cache = system.cache
    uncached = next(n for n in range(1300, 4096) if cache.peek(n) is None)
    reader = cache.read_block(uncached)
    queue = next(reader)                         # the read is on its way
    assert isinstance(queue, WaitQueue)
    system.kernel.run_until(lambda: cache.peek(uncached) is not None)
    cache.shrink(10**6)                          # memory short: every clean idle block goes
    reads = cache.reads
    data = run_boot(system.kernel, reader)
    assert len(data) == cache.block_size and cache.reads == reads


def test_one_read_larger_than_memory_allows_beside_its_buffer_is_whole(disk):
    # 2 MiB in one read() into a 2 MiB buffer, with 4 MiB of RAM: the cache holds the
    # file's blocks a piece at a time (hold_most) and the copy's faults get frames from
    # reclaim, instead of ENOMEM or an out-of-memory kill.
    from conftest import run_on_disk
    r = run_on_disk(disk, '/tests/read_large', '2', mem=4 << 20)
    assert '(read_large) end' in r.text and r.status == 0, r.text + '\n'.join(r.log)
