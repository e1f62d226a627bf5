"""Bringing the file systems and disks up at boot and down at shutdown.

Always: the name space (mount_namespace) with procfs at /proc, devfs at /dev and tmpfs at
/tmp and /dev/shm, over a root that is an empty tmpfs until something better is mounted;
the device switch (character major 1 = /dev/null, zero, full, random, urandom; 5 = the
console; block major 8 = the raw disk).
Boot from a disk: probe the AHCI controller once; mount ext2 from partition 1 of the boot
disk (port 0) at /.  Without a disk, `ukern run` mounts the host's tree (hostfs) at /.
Swap on the boot disk's swap partition (type 0x82)
if it has one, else on the whole disk at port 1 (the swap file `ukern run` and `ukern
boot` attach).
Shutdown: write every dirty block back and flush the disk images, so nothing a program
wrote is lost and e2fsck finds the file system clean; the superblock says clean only then.
A file system that was not unmounted cleanly is checked and repaired at mount
(ext2_check.py), and the repair is logged in one line.
ext2 and the buffer cache are imported by the mount that needs them: a run on the host's
tree never loads them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..dev.ahci import attach
from ..dev.blk import BlockRequest
from ..dev.disk import DiskFile
from ..dev.mem import MAJOR_MEM, open_mem
from ..errno import Errno
from ..mm.frames import PAGE_SIZE
from ..mm.swap import SwapArea, SWAP_TYPE
from ..proc.wait import run_boot
from ..sys.time import wall_seconds
from .devfs import DevFs, MAJOR_CONSOLE, MAJOR_DISK
from .ext2_vfs import Ext2Mount
from .file import ConsoleFile
from .fserror import FsError
from .hostfs import HostFs
from .procfs import ProcFs
from .tmpfs import TmpFs
from .vfs import Cwd, Vfs

if TYPE_CHECKING:
    from .bcache import BufferCache
    from .ext2 import Ext2

BOOT_PORT, SWAP_PORT = 0, 1


def probe_disks(kernel) -> dict:
    """port -> Disk, probing the controller the first time."""
    if kernel.disks is None:
        found = attach(kernel).disks if kernel.machine.ahci is not None else []
        kernel.disks = {d.port: d for d in found}
    return kernel.disks


def mount_namespace(kernel) -> Vfs:
    """The tree every machine has, disk or not: an empty root until one is mounted."""
    def seconds() -> int:
        return wall_seconds(kernel.clock)

    def tmpfs(dev: int) -> TmpFs:
        return TmpFs(kernel.frames, seconds, dev, kernel.reclaim)
    vfs = Vfs(seconds, kernel.wake, tmpfs(0x10))
    vfs.devsw[('c', MAJOR_CONSOLE)] = lambda minor, flags: ConsoleFile(kernel.console, flags)
    vfs.devsw[('c', MAJOR_MEM)] = lambda minor, flags: open_mem(minor, flags, kernel.random)
    vfs.mount(ProcFs(kernel), b'/proc', 'proc')
    vfs.mount(DevFs(), b'/dev', 'devtmpfs')
    vfs.mount(tmpfs(0x11), b'/tmp', 'tmpfs')
    vfs.mount(tmpfs(0x12), b'/dev/shm', 'tmpfs')
    vfs.shmem = tmpfs(0x13)          # mounted nowhere: shared anonymous memory's files
    vfs.shmem.limited = False
    return vfs


def mount_boot_disk(kernel) -> bool:
    """ext2 from the boot disk at /; False when there is no disk."""
    boot = probe_disks(kernel).get(BOOT_PORT)
    if boot is None:
        return False
    fs, cache = mount_root(kernel, boot)
    if fs.repaired:
        kernel.log(f'ukern: /dev/{boot.name}: {fs.repaired}')
    kernel.reclaim.shrinkers.append(cache.shrink)
    kernel.reclaim.shrinkers.append(fs.drop_dir_cache)
    vfs = kernel.vfs
    vfs.set_root(Ext2Mount(kernel, fs, cache), f'/dev/{boot.name}')
    vfs.devsw[('b', MAJOR_DISK)] = lambda minor, flags: DiskFile(kernel, boot, flags)
    vfs.mount(DevFs(disk=True), b'/dev', 'devtmpfs')
    return True


def mount_host(kernel, root: str, cwd: str, writable: bool) -> Cwd:
    """The host's tree under `root` at / (hostfs); returns the guest's place for the host
    directory `cwd` (the root when cwd is outside it)."""
    vfs = kernel.vfs
    host = HostFs(os.fsencode(root), writable, kernel.frames)
    vfs.set_root(host, 'hostfs')
    # The guest's /tmp is its own (tmpfs), but the host's files there still show through
    # it, read-only, so a program run from a directory under /tmp finds itself and its
    # files by absolute path too.
    vfs.covered[(b'/', b'tmp')].lower = Cwd(vfs.root, b'tmp', b'/tmp')
    inside = os.path.relpath(os.path.realpath(os.fsencode(cwd)), host.top)
    if inside == b'.' or inside == b'..' or inside.startswith(b'../'):
        return vfs.root_loc()
    # The place in the host tree itself, even below a mount point (a cwd in the host's
    # /tmp stays there, as a process's cwd does when Linux mounts over it).
    return Cwd(vfs.root, inside, b'/' + inside)


class BootError(Exception):
    """The machine cannot boot as asked (the message says why, in one line)."""


OBJECT_SERVER = b'/sbin/objsrv'


def open_object_store(kernel):
    """The object store on the second controller's disk (the image's partition 2), opened
    through the object server, which the kernel starts first from /sbin/objsrv: the kernel
    itself never touches that disk.  None if the machine has no store disk, the file
    system no server, or the store was never formatted; a corrupt store stops the boot."""
    from ..obj.disk import ServerSectorDevice
    from ..obj.objects import ObjectSpace
    from ..obj.store import ObjectStore, ObjectStoreError
    from ..obj.server import start_object_server
    if kernel.store_controller is None:
        return None
    try:
        server = kernel.read_guest_file(OBJECT_SERVER)
    except FsError:
        return None                          # no server on this disk: the store stays closed
    link = start_object_server(kernel, server, OBJECT_SERVER)
    if link.sectors is None:
        raise BootError('the object server did not bring up the object store\'s disk')
    dev = ServerSectorDevice(kernel, link, link.sectors)
    if dev.read(0, 1)[:8] == bytes(8):
        return None                          # never formatted
    try:
        store = ObjectStore.open(dev, autocommit=False)     # recovery: the last checkpoint
    except ObjectStoreError as e:
        raise BootError(f'object store in partition 2 refused: {e}') from None
    space = ObjectSpace(kernel, store)
    link.objects = space
    space.link = link
    kernel.serve_until(lambda: dev.idle)     # (a first boot's root node) on the disk now
    kernel.reclaim.shrinkers.append(space.shrink)
    return space


def find_swap(kernel) -> SwapArea | None:
    disks = probe_disks(kernel)
    boot = disks.get(BOOT_PORT)
    if boot is not None:
        for start, count, kind in partitions(kernel, boot):
            if kind == SWAP_TYPE:
                return SwapArea(kernel, boot, start, count)
    swap_disk = disks.get(SWAP_PORT)
    if swap_disk is not None:
        return SwapArea(kernel, swap_disk, 0, swap_disk.sectors)
    return None


def unmount(kernel, vfs: Vfs) -> None:
    """Write the disk's file system back (a root that is not ext2 holds nothing to write);
    orphans whose last descriptor closed are freed first."""
    if vfs.ext2 is None:
        if kernel.machine.ahci is not None:
            kernel.machine.flush_disks()
        return
    run_boot(kernel, vfs.ext2.release_closed())
    run_boot(kernel, vfs.ext2.unmount())            # everything written, then marked clean
    kernel.machine.flush_disks()


# -- the boot disk's partition table and root file system --------------------------------

def read_sectors(kernel, disk, lba: int, count: int) -> bytes:
    """Boot-time helper: read `count` sectors (at most a frame) through the disk's queue."""
    nbytes = count * disk.sector_size
    if nbytes > PAGE_SIZE:
        raise ValueError('read_sectors reads at most one frame')
    frame = kernel.frames.alloc()
    try:
        req = disk.queue.submit(BlockRequest(disk, lba, count, [(frame, nbytes)]))
        if run_boot(kernel, req.wait()):
            raise FsError(Errno.EIO, f'{disk.name}: read of sector {lba} failed')
        return kernel.machine.memory.read(frame, nbytes)
    finally:
        kernel.frames.release(frame)


def partitions(kernel, disk) -> list[tuple[int, int, int]]:
    """(first LBA, sector count, type) of each used MBR partition, in table order
    (the disk-side twin of kernel.tools.mkdisk.partition_offsets)."""
    from kernel.tools.mkdisk import MBR_SIGNATURE, MasterBootRecord
    raw = read_sectors(kernel, disk, 0, 1)[:512]
    mbr = MasterBootRecord.from_buffer_copy(raw)
    if mbr.signature != MBR_SIGNATURE:
        raise FsError(Errno.ENODEV, f'{disk.name}: no MBR partition table')
    return [(p.lba_first, p.sector_count, p.type)
            for p in mbr.partitions if p.type and p.sector_count]


def cache_services(kernel):
    """What a buffer cache uses of `kernel` (bcache.CacheServices)."""
    from .bcache import CacheServices
    return CacheServices(memory=kernel.machine.memory, frames=kernel.frames, clock=kernel.clock,
                         vmstat=kernel.vmstat, tracer=kernel.trace,
                         drive=lambda gen: run_boot(kernel, gen),
                         wait_for_memory=kernel.reclaim.wait_for_memory)


def mount_root(kernel, disk, partition: int = 1, **cache_args) -> tuple[Ext2, BufferCache]:
    """At boot: mount the ext2 file system in `partition` (1-based, MBR table order) of
    `disk` (from AhciDriver.probe) through a new BufferCache; returns (fs, cache)."""
    from .bcache import BufferCache
    from .ext2 import Ext2
    table = partitions(kernel, disk)
    if not 1 <= partition <= len(table):
        raise FsError(Errno.ENODEV, f'{disk.name}: no partition {partition}')
    start, count, _ = table[partition - 1]
    cache = BufferCache(cache_services(kernel), disk.queue, disk, start, nsectors=count,
                        **cache_args)
    fs = Ext2(cache, now=lambda: wall_seconds(kernel.clock))
    run_boot(kernel, fs.mount())
    return fs, cache
