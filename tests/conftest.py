"""Shared fixtures: the built guest programs, and running one under a fresh kernel."""

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import emu  # noqa: F401  (first: it picks the Unicorn library the tests' machines run on)

ROOT = Path(__file__).resolve().parent.parent
USERLAND = ROOT / 'build' / 'userland'


GUEST_ROOT = ROOT / 'build' / 'test-root'

# Every kernel boot() made during the current test: the books_balance fixture checks each
# (kernel/check.py) when the test ends.
BOOTED: list = []
# UKERN_CHECK_EVERY_SWITCH=1: also check at every context switch, as `ukern run --check`
# does (slow: several times the suite's time; for hunting a bug the teardown check found).
CHECK_EVERY_SWITCH = bool(os.environ.get('UKERN_CHECK_EVERY_SWITCH'))


def pytest_configure(config):
    # The suite tests ukern's own parts: no course lab is active, whatever labs/*/student/
    # holds (a student's `ukern lab start` marker) or the shell says (kernel/labs.py:
    # UKERN_LAB=none), in every kernel the tests boot and every `ukern` they start.  (Not
    # at import: the labs' grader imports this file for boot() with its own lab active.)
    os.environ['UKERN_LAB'] = 'none'
    config.addinivalue_line('markers', 'unbalanced_books(reason): the test leaves a kernel '
                            'whose books deliberately do not balance; skip the check after it')


@pytest.fixture(autouse=True)
def books_balance(request):
    """After a test, the books of every kernel it booted balance (issue 21): every frame
    in one account, refcounts as the accounts say, swap slots referenced, queues sane.
    A kernel can opt out alone with `kernel.unbalanced = 'why'`."""
    BOOTED.clear()
    yield
    kernels, BOOTED[:] = list(BOOTED), []
    if request.node.get_closest_marker('unbalanced_books') is not None:
        return
    from kernel.check import find_problems
    for i, k in enumerate(kernels):
        if getattr(k, 'unbalanced', None):
            continue
        problems = find_problems(k)
        assert not problems, f'kernel {i} booted by the test: books do not balance:\n' + \
            '\n'.join(problems[:20])


@pytest.fixture(scope='session')
def userland() -> Path:
    """The guest programs, built once per test session (incremental)."""
    r = subprocess.run([sys.executable, str(ROOT / 'userland' / 'build.py'), str(USERLAND),
                        '--root', str(GUEST_ROOT)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return USERLAND


@pytest.fixture(scope='session')
def master_image(userland, tmp_path_factory) -> Path:
    from kernel.tools.mkdisk import make_disk
    image = tmp_path_factory.mktemp('disk') / 'master.img'
    make_disk(image, GUEST_ROOT, 64 << 20)
    return image


def copy_image(source: Path, target: Path) -> Path:
    """Copy a disk image keeping its holes: the 64 MiB images hold a few MiB, and a whole
    test run makes hundreds of copies (shutil.copyfile would write every zero)."""
    from kernel.tools.mkdisk import copy_sparse
    copy_sparse(source, target)
    return target


@pytest.fixture
def disk(master_image, tmp_path) -> Path:
    """A fresh copy of the userland disk image for one test."""
    return copy_image(master_image, tmp_path / 'disk.img')


def partition1(image: Path, out: Path) -> Path:
    """Partition 1 alone, as a sparse file (for e2fsck and debugfs, which take no offset)."""
    from kernel.tools.mkdisk import extract_partition
    return extract_partition(image, out)


def fsck(image: Path) -> subprocess.CompletedProcess:
    """e2fsck -fn on partition 1 (copied out: e2fsck takes no offset)."""
    part = partition1(image, image.with_suffix('.p1'))
    return subprocess.run(['e2fsck', '-fn', str(part)], capture_output=True, text=True)


def put_file(image: Path, path: str, data: bytes) -> None:
    """Write a file into partition 1 from the host, with ukern's own ext2 code."""
    from kernel.fs.blockdev import FileBlockDevice, run_sync
    from kernel.fs.ext2 import Ext2, ROOT
    from kernel.tools.mkdisk import partition_offsets
    start, _, _ = partition_offsets(image)[0]
    with FileBlockDevice(image, start, 4096) as dev:
        fs = Ext2(dev)
        run_sync(fs.mount())
        ino = run_sync(fs.create(ROOT, path.lstrip('/')))
        run_sync(fs.write(ino, 0, data))
        run_sync(fs.unmount())


def debugfs_cat(image: Path, path: str) -> bytes:
    part = partition1(image, image.with_suffix('.p1'))
    r = subprocess.run(['debugfs', '-R', f'cat {path}', str(part)], capture_output=True)
    return r.stdout


@dataclass
class GuestRun:
    status: int                  # wait status of the first process
    output: bytes                # everything written to the console
    log: list[str] = field(default_factory=list)   # kernel messages
    kernel: object = None

    @property
    def text(self) -> str:
        return self.output.decode(errors='replace')

    @property
    def exit_code(self) -> int:
        from kernel.cli import wait_status_to_exit_code
        return wait_status_to_exit_code(self.status)


def boot(mem: int = 64 << 20, quantum: int = 100_000, seed: int = 0, stdin: bytes = b'',
         disk: Path | None = None, tty: bool = False, swap: Path | None = None, policy: str = 'clock',
         store: Path | None = None):
    """A fresh machine and kernel whose console writes into a buffer."""
    import io
    from emu.machine import Machine
    from emu.disk_image import DiskImage
    from kernel.kernel import Kernel
    out = bytearray()
    log: list[str] = []
    from kernel.tools.mkdisk import attach_disks
    boot_disk, store_disk = attach_disks(disk) if disk else (None, None)
    if store is not None:                # a bare object-store disk (the second controller's)
        store_disk = DiskImage(store)
    disks = [boot_disk]
    if swap is not None:                 # a swap disk twice the size of RAM, at port 1
        disks.append(DiskImage.create(swap, 2 * mem // 512))
    machine = Machine(mem, console_sink=out.extend, console_source=io.BytesIO(stdin),
                      disks=disks if disk or swap else None, store_disk=store_disk)
    kernel = Kernel(machine, quantum=quantum, seed=seed, log=log.append, console_is_tty=tty, policy=policy)
    kernel.contain_bugs = False          # a kernel bug fails the test that found it
    BOOTED.append(kernel)
    kernel.check_books = CHECK_EVERY_SWITCH
    if disk:
        kernel.mount_root()
    if swap is not None:
        kernel.enable_swap()
    return kernel, out, log


def run_program(path: Path, *args: str, env=(), **boot_args) -> GuestRun:
    kernel, out, log = boot(**boot_args)
    argv = [str(path).encode()] + [a.encode() for a in args]
    p = kernel.spawn(path.read_bytes(), argv, [e.encode() for e in env])
    kernel.run()
    return GuestRun(p.exit_status, bytes(out), log, kernel)


def run_on_disk(image: Path, path: str, *args: str, **boot_args) -> GuestRun:
    """Boot with `image` as the disk, run the guest file `path`, shut down cleanly."""
    kernel, out, log = boot(disk=image, **boot_args)
    p = kernel.spawn(kernel.read_guest_file(path.encode()), [path.encode()] + [a.encode() for a in args], [])
    kernel.run()
    kernel.shutdown()
    return GuestRun(p.exit_status, bytes(out), log, kernel)


@pytest.fixture
def run(userland):
    """run('tests/brk', 'arg', ...) -> GuestRun"""
    def _run(name: str, *args: str, **kw) -> GuestRun:
        return run_program(userland / name, *args, **kw)
    return _run
