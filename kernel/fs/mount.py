"""Bringing the file system up at boot and down at shutdown.

Boot: probe the AHCI controller, mount ext2 from partition 1 of the first disk at /, and
fill the device switch (character major 5 = the console, block major 8 = the raw disk).
Shutdown: write every dirty block back and flush the disk image, so nothing a program
wrote is lost and e2fsck finds the file system clean.
"""

from ..dev.ahci import AhciDriver
from ..dev.disk import DiskFile
from .bcache import mount_root, run_boot
from .file import ConsoleFile
from .vfs import Vfs

MAJOR_CONSOLE = 5      # /dev/console is 5,1 on Linux
MAJOR_DISK = 8         # /dev/sda is 8,0 on Linux; ukern names it /dev/disk0


def mount_boot_disk(kernel) -> Vfs | None:
    if kernel.machine.ahci is None:
        return None
    disks = AhciDriver(kernel).probe()
    if not disks:
        return None
    fs, cache = mount_root(kernel, disks[0])
    vfs = Vfs(kernel, fs, cache)
    vfs.devsw[('c', MAJOR_CONSOLE)] = lambda minor, flags: ConsoleFile(kernel.console, flags)
    vfs.devsw[('b', MAJOR_DISK)] = lambda minor, flags: DiskFile(kernel, disks[minor], flags)
    vfs.disks = disks
    return vfs


def unmount(kernel, vfs: Vfs) -> None:
    run_boot(kernel, vfs.fs.sync())
    vfs.cache.flush()
    kernel.machine.ahci.flush()
