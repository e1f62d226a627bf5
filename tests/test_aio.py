"""Page-level asynchronous I/O (seeds 000 and 004): block on the page, not on the call."""

from conftest import boot, put_file, debugfs_cat, fsck, GuestRun
from kernel.obj.devcap import STORE_TRACK

PAGES = 192


def numbered_pages(n: int) -> bytes:
    return b''.join(bytes([i]) * 4096 for i in range(n))


def run(disk, *args, bad_page=None, trace=None):
    put_file(disk, '/data', numbered_pages(PAGES))
    kernel, out, log = boot(disk=disk)
    if bad_page is not None:
        lba = block_lba(kernel, '/data', bad_page)
        kernel.machine.ahci.ports[0].disk.bad_ranges.append((lba, 8))
    if trace is not None:
        kernel.trace.subscribe(trace.append)
    p = kernel.spawn(kernel.read_guest_file(b'/tests/aio'), [b'aio', *[a.encode() for a in args]], [])
    kernel.run()
    kernel.shutdown()
    return GuestRun(p.exit_status, bytes(out), log, kernel)


def block_lba(kernel, path: str, page: int) -> int:
    from kernel.proc.wait import run_boot
    from kernel.fs.vfs import Cwd
    vfs = kernel.vfs
    ino = run_boot(kernel, vfs.lookup(path.encode(), Cwd()))
    block = run_boot(kernel, vfs.fs.file_blocks(ino, page, 1))[0]
    return vfs.cache.start_lba + block * 8


def passed(r):
    assert 'FAIL' not in r.text, r.text + '\n'.join(r.log)
    assert '(aio) end' in r.text, r.text + '\n'.join(r.log)
    assert r.status == 0


def test_touching_page_k_waits_for_page_k_only(disk):
    events = []
    passed(run(disk, 'read', '/data', str(PAGES), '100', trace=events))
    waits = [e for e in events if e.kind == 'fault' and e.args['action'] == 'wait for the page to arrive']
    assert waits, 'the program never waited for a page'
    first_wait = events.index(waits[0])
    arrived = [e for e in events[first_wait:] if e.kind == 'aio' and e.args['what'] == 'page arrived']
    # the page it waited for arrived while later pages were still in flight ...
    assert arrived[0].args['still_in_flight'] > 0
    # ... and the process ran again (made a system call) before the last page arrived
    last = next(e for e in arrived if e.args['still_in_flight'] == 0)
    ran = [e for e in events[events.index(arrived[0]):events.index(last)] if e.kind in ('syscall', 'fault')]
    assert ran, 'the process did not run until the whole request was done'


def test_a_bad_sector_poisons_its_page_only(disk):
    r = run(disk, 'badread', '/data', str(PAGES), '5', bad_page=5)
    passed(r)
    assert 'SIGBUS\'s si_addr is the failed page' in r.text
    assert 'with EIO: 5' in r.text


def test_the_disk_gets_what_the_buffer_held_at_the_call(disk):
    r = run(disk, 'write', '/written', '8')
    passed(r)
    data = debugfs_cat(disk, '/written')
    assert data == b'A' * 8 * 4096                 # not the B's written right after the call
    assert fsck(disk).returncode == 0


def test_exit_with_a_read_in_flight_leaks_nothing(disk):
    put_file(disk, '/data', numbered_pages(PAGES))
    kernel, out, log = boot(disk=disk)
    prog = kernel.read_guest_file(b'/tests/aio')
    cache = kernel.vfs.cache

    def in_use():
        return kernel.frames.total - kernel.frames.free_count - cache.stats()['cached']

    def pinned():
        return sum(1 for f in range(kernel.frames.first, kernel.frames.end, 4096) if kernel.frames.pinned(f))

    before, pinned_before = in_use(), pinned()     # (the AHCI driver's own structures stay pinned)
    p = kernel.spawn(prog, [b'aio', b'exit', b'/data', str(PAGES).encode()], [])
    kernel.run()
    assert p.exit_status == 0, out
    kernel.run_until(lambda: not kernel.aio.pages)      # the DMA finishes after the exit
    for pid in [pid for pid in kernel.procs if pid not in kernel.daemons]:
        del kernel.procs[pid]                           # (the object server stays)
    assert in_use() == before
    assert pinned() == pinned_before


def test_a_failed_write_is_reported_by_await_and_the_next_fsync(disk):
    put_file(disk, '/written', bytes(8 * 4096))
    kernel, out, log = boot(disk=disk)
    lba = block_lba(kernel, '/written', 2)
    kernel.machine.ahci.ports[0].disk.bad_ranges.append((lba, 8))
    p = kernel.spawn(kernel.read_guest_file(b'/tests/aio'), [b'aio', b'badwrite', b'/written', b'8'], [])
    kernel.run()
    passed(GuestRun(p.exit_status, bytes(out), log, kernel))


def test_an_awrite_from_a_buffer_as_large_as_memory_writes_it_whole_or_is_refused(disk, tmp_path):
    # 680 pages on a 4 MiB machine: faulting the last pages in pushes the first ones out
    # to swap again.  The disk must DMA from frames the buffer really has, all present at
    # once, so the call is refused (ENOMEM) or the file gets every byte; never a swap
    # entry's bits taken for a frame (other data, even the kernel's, written and freed).
    from kernel.check import find_problems
    kernel, out, log = boot(mem=4 << 20, disk=disk, swap=tmp_path / 'swap.img')
    p = kernel.spawn(kernel.read_guest_file(b'/tests/aio'), [b'aio', b'bigwrite', b'/big', b'680'], [])
    kernel.run()
    kernel.shutdown()
    r = GuestRun(p.exit_status, bytes(out), log, kernel)
    passed(r)
    written = debugfs_cat(disk, '/big')
    if 'ukern_awrite took the buffer' in r.text:
        assert written == b'A' * (680 * 4096)
    else:
        assert written == b''
    assert find_problems(kernel) == []


def test_munmap_during_the_read_frees_the_frames_when_it_completes(disk):
    put_file(disk, '/data', numbered_pages(PAGES))
    kernel, out, log = boot(disk=disk)
    prog = kernel.read_guest_file(b'/tests/aio')
    cache = kernel.vfs.cache
    before = kernel.frames.total - kernel.frames.free_count - cache.stats()['cached']
    p = kernel.spawn(prog, [b'aio', b'unmap', b'/data', str(PAGES).encode()], [])
    kernel.run()
    passed(GuestRun(p.exit_status, bytes(out), log, kernel))
    for pid in [pid for pid in kernel.procs if pid not in kernel.daemons]:
        del kernel.procs[pid]                       # (the object server stays)
    assert kernel.frames.total - kernel.frames.free_count - cache.stats()['cached'] == before


def test_the_elevator_reorders_a_batch_and_the_trace_counts_it(disk):
    events = []
    passed(run(disk, 'read', '/data', str(PAGES), '100', trace=events))
    issues = [e for e in events if e.kind == 'dma' and e.args['phase'] == 'issue'
              and e.args['disk'] != STORE_TRACK]      # the kernel's disk, not objsrv's
    assert issues[-1].args['reordered_so_far'] >= 1
