"""The kernel's books over long runs (issue #21): a long shell session ends with the frames
it started with, and a disk that fails IDENTIFY leaves no frame pinned behind the probe.
(1,000 fork/exit and mmap/munmap cycles: tests/test_check.py.)"""

import io

from conftest import boot
from kernel.check import find_problems

COMMANDS = (b'ls /etc\n'
            b'echo hello | wc -c\n'
            b'cat /etc/motd > /tmp/x\n'
            b'cat /tmp/x | wc\n'
            b'rm /tmp/x\n'
            b'ls -l /bin > /dev/null\n'
            b'false\n'
            b'true\n')


def frames_in_use(k) -> int:
    """Frames neither free nor in the buffer cache (which keeps what was read, by design)."""
    return k.frames.total - k.frames.free_count - k.vfs.cache.stats()['cached']


def test_a_long_shell_session_ends_with_the_frames_it_started_with(disk):
    """A short session first (the caches fill, the shell's pages come in), then 800 commands
    -- pipelines, redirections, files made and removed: afterwards exactly as many frames
    are in use as after the short one, and the books balance."""
    short = COMMANDS + b'exit\n'
    long = COMMANDS * 100 + b'exit\n'
    kernel, out, log = boot(disk=disk, stdin=short + long)
    used = []
    for _ in range(2):
        sh = kernel.spawn(kernel.read_guest_file(b'/bin/sh'), [b'sh'], [b'PATH=/bin'])
        kernel.run()
        assert sh.exit_status == 0, bytes(out)[-500:]
        used.append((frames_in_use(kernel), kernel.frames.free_count))
    assert bytes(out).count(b'motd') == 101                  # every ls /etc ran
    assert used[1] == used[0]
    assert find_problems(kernel) == []
    kernel.shutdown()


def test_a_disk_that_fails_identify_leaves_no_frame_pinned(tmp_path, monkeypatch):
    """The device aborts IDENTIFY: the probe drops the port and gives back the frames it
    pinned for the port's command list and tables."""
    import emu.ahci
    from emu.ahci_regs import AtaError
    from emu.disk_image import DiskImage
    from emu.machine import Machine
    from kernel.dev.ahci import attach
    from kernel.kernel import Kernel

    def abort(disk, serial):
        raise emu.ahci._TaskFileError(AtaError.ABRT)
    monkeypatch.setattr(emu.ahci, 'identify_data', abort)
    image = DiskImage.create(tmp_path / 'mute.img', 1000)
    machine = Machine(16 << 20, console_sink=lambda b: None, console_source=io.BytesIO(), disks=[image])
    kernel = Kernel(machine, log=lambda m: None)
    free = kernel.frames.free_count
    assert attach(kernel).disks == []
    assert kernel.frames.free_count == free
    assert not any(kernel.frames.pins)
    assert find_problems(kernel) == []
