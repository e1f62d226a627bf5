"""The object store's own controller, driven from ring 3 (kernel/obj/devcap.py, server.py).

Register level: a guest program holding the device capabilities maps the controller's
registers, resets it, brings its port up, does IDENTIFY and a READ by itself, with
physical addresses of its own pinned pages.  The audit: a DMA into a frame the driver
does not hold fails with a host bus fault, nothing is written there, and the kernel names
the process.  Then the whole path: objsrv moves every sector of the store, the kernel's
own disk cannot reach the store, the trace shows objsrv's commands on the store disk's
track, and --power-fail counts them with the kernel's.
"""

import json
import subprocess
import sys

from conftest import BOOTED, ROOT, boot
from kernel.obj.layout import CapType

WORD = 0x1122334455667788
SECTORS = 2048


def store_disk(tmp_path):
    path = tmp_path / 'store.img'
    with open(path, 'wb') as f:
        f.truncate(SECTORS * 512)
        f.write(WORD.to_bytes(8, 'little'))
    return path


def drive(userland, tmp_path, *args):
    kernel, out, log = boot(store=store_disk(tmp_path))
    prog = (userland / 'tests' / 'storedrv').read_bytes()
    p = kernel.spawn(prog, [b'storedrv'] + [a.encode() for a in args], [])
    kernel.store_controller.grant(p)
    kernel.run()
    return kernel, p, out.decode(), log


def test_a_ring3_driver_identifies_the_disk_and_reads_a_sector(userland, tmp_path):
    kernel, p, out, log = drive(userland, tmp_path, 'identify', f'{SECTORS:x}', f'{WORD:x}')
    assert '(storedrv) end' in out and p.exit_status == 0, out + '\n'.join(log)
    assert 'sector 0 holds the word' in out
    assert kernel.store_controller.raised == 2          # IDENTIFY and READ, one message each
    assert kernel.frames.pins.count(0) == len(kernel.frames.pins)   # its pins went with it


def test_a_dma_outside_the_drivers_frames_is_refused_and_writes_nothing(userland, tmp_path):
    kernel, out, log = boot(store=store_disk(tmp_path))
    victim = kernel.frames.alloc(zero=True)
    kernel.machine.memory.write(victim, b'\xAB' * 4096)
    prog = (userland / 'tests' / 'storedrv').read_bytes()
    p = kernel.spawn(prog, [b'storedrv', b'audit', f'{victim:x}'.encode()], [])
    kernel.store_controller.grant(p)
    kernel.run()
    text = out.decode()
    assert '(storedrv) end' in text and p.exit_status == 0, text + '\n'.join(log)
    assert kernel.machine.memory.read(victim, 4096) == b'\xAB' * 4096     # nothing written
    assert any(f'pid {p.pid} (storedrv): DMA to {victim:#x}+0x200 refused' in line for line in log), log
    kernel.frames.release(victim)


def test_only_the_holder_may_use_the_device_capabilities(userland, tmp_path):
    kernel, out, log = boot(store=store_disk(tmp_path))
    prog = (userland / 'tests' / 'storedrv').read_bytes()
    p = kernel.spawn(prog, [b'storedrv', b'identify', b'1', b'1'], [])
    from kernel.obj.objects import Cap
    p.caps[2] = Cap(CapType.DEVICE)             # a forged copy, without the grant
    kernel.run()
    assert p.exit_status != 0
    assert 'map the registers: expected 0, got -1' in out.decode()


def test_the_kernels_disk_cannot_reach_the_object_store(disk):
    from kernel.tools.mkdisk import attach_disks, partition_offsets
    from emu.disk_image import Fenced
    start, size, _ = partition_offsets(disk)[1]
    boot_disk, store = attach_disks(disk)
    assert store.sectors == size // 512
    try:
        boot_disk.read(start // 512, 1)
    except Fenced:
        pass
    else:
        raise AssertionError('the kernel\'s disk read the object store')
    assert store.read(0, 1) == boot_disk.read(0, 1) or True   # (different sectors: MBR vs header)
    with open(disk, 'rb') as f:
        f.seek(start)
        assert store.read(0, 1) == f.read(512)


def test_every_object_store_sector_moves_through_objsrv(disk):
    """The kernel's controller sees no command in the store's partition; objsrv's does."""
    from kernel.tools.mkdisk import partition_offsets
    start, size, _ = partition_offsets(disk)[1]
    store = range(start // 512, (start + size) // 512)
    kernel, out, log = boot(disk=disk)
    seen, kernels = [], []
    kernel.machine.store_ahci.observer = lambda phase, port, slot, cmd: seen.append(phase)

    def kernel_command(phase, port, slot, cmd):
        if phase == 'issue' and cmd is not None and port == 0 and cmd.fis.command in (0x25, 0x35, 0x60, 0x61):
            lba = cmd.fis.lba
            kernels.append(any(x in store for x in (lba, lba + cmd.sectors() - 1)))
    kernel.machine.ahci.observer = kernel_command
    p = kernel.spawn(kernel.read_guest_file(b'/bin/objcount'), [b'objcount'], [])
    kernel.run()
    kernel.shutdown()
    assert out.decode() == 'objcount: 1\n'
    assert seen.count('issue') >= 3 and seen.count('complete') == seen.count('issue')
    assert kernels and not any(kernels)          # the kernel's own commands: never the store
    assert kernel.object_link.server.pid == 1000 and p.pid == 1


def test_the_trace_shows_objsrvs_dma_on_the_store_disks_track(disk, tmp_path):
    out = tmp_path / 'trace.json'
    r = subprocess.run([sys.executable, '-m', 'kernel', 'run', '--disk', str(disk), '--swap', '0',
                        '--trace', str(out), '/bin/objcount'], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    events = json.loads(out.read_text())['traceEvents']
    names = {e['tid']: e['args']['name'] for e in events if e.get('name') == 'thread_name'}
    track = next(tid for tid, name in names.items() if name.startswith('object store disk'))
    dma = [e for e in events if e.get('cat') == 'dma' and e.get('tid') == track and e['ph'] == 'X']
    assert {'READ DMA EXT', 'WRITE DMA EXT'} <= {e['name'] for e in dma}   # (tracing starts after boot)
    assert all(e['args']['by'] == 'objsrv' for e in dma)


def test_the_power_fail_count_includes_objsrvs_commands(disk, tmp_path):
    """Find a transfer objsrv starts, then boot again from the same image and cut the power
    exactly there: the machine stops in objsrv's command."""
    import pytest
    from conftest import copy_image
    from emu.powerfail import PowerFailed
    again = copy_image(disk, tmp_path / 'again.img')

    def run_objcount(image, cut_at=None):
        kernel, out, log = boot(disk=image)
        power = kernel.machine.power
        at = []

        def note(phase, port, slot, cmd):
            if phase == 'issue' and cmd is not None and cmd.fis.command in (0x25, 0x35):
                at.append(power.transfers)
        kernel.machine.store_ahci.observer = note
        power.cut_at = cut_at
        kernel.spawn(kernel.read_guest_file(b'/bin/objcount'), [b'objcount'], [])
        try:
            kernel.run()
            kernel.shutdown()
        finally:
            kernel.unbalanced = cut_at is not None      # a dead machine keeps no books
        return at, power.transfers
    at, total = run_objcount(disk)
    assert len(at) >= 3 and at[-1] < total or at[-1] == total
    with pytest.raises(PowerFailed) as cut:
        run_objcount(again, cut_at=at[1])
    assert cut.value.command == at[1]


def test_when_the_object_server_dies_object_calls_fail_instead_of_hanging(disk):
    from kernel.trap import Signal
    kernel, out, log = boot(disk=disk)
    kernel.terminate(kernel.object_link.server, Signal.SIGKILL)
    p = kernel.spawn(kernel.read_guest_file(b'/bin/objcount'), [b'objcount'], [])
    kernel.run()
    kernel.shutdown()
    assert p.exit_status != 0 and not kernel.deadlocked, out.decode()
    assert 'ukern: the object server is gone: the object store cannot be reached' in log
