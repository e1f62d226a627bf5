"""Direct I/O (seed 003): O_DIRECT, MAP_DIRECT, MAP_BLOCK, MAP_NOSYNC, MAP_FIXED reuse."""

from conftest import boot, put_file, debugfs_cat, fsck, GuestRun

PAGES = 16


def numbered(n):
    return b''.join(bytes([i]) * 4096 for i in range(n))


def data_blocks_cached(kernel) -> int:
    """How many of /data's data blocks the buffer cache holds."""
    from kernel.proc.wait import run_boot
    from kernel.fs.vfs import Cwd
    vfs = kernel.vfs
    ino = run_boot(kernel, vfs.lookup(b'/data', Cwd()))
    blocks = run_boot(kernel, vfs.fs.file_blocks(ino, 0, PAGES))
    return sum(1 for b in blocks if vfs.cache.page(b) is not None)


def run(disk, mode):
    put_file(disk, '/data', numbered(PAGES))
    kernel, out, log = boot(disk=disk)
    prog = kernel.read_guest_file(b'/tests/direct')
    p = kernel.spawn(prog, [b'direct', mode.encode(), b'/data', str(PAGES).encode()], [])
    kernel.run()
    cached = data_blocks_cached(kernel)
    kernel.shutdown()
    r = GuestRun(p.exit_status, bytes(out), log, kernel)
    assert 'FAIL' not in r.text and '(direct) end' in r.text and r.status == 0, r.text + '\n'.join(log)
    return r, cached


def test_o_direct_agrees_with_buffered_reads_and_writes(disk):
    r, _ = run(disk, 'odirect')
    assert r.kernel.vmstat['direct_read_bytes'] == PAGES * 4096
    assert debugfs_cat(disk, '/data')[4096:8192] == b'D' * 4096
    assert fsck(disk).returncode == 0


def test_map_direct_reads_leave_the_page_cache_untouched(disk):
    r, cached = run(disk, 'mapdirect')
    assert cached == 0                              # the data came straight to the mapping


def test_o_direct_reads_leave_the_page_cache_untouched(disk):
    put_file(disk, '/data', numbered(PAGES))
    kernel, out, log = boot(disk=disk)
    from kernel.proc.wait import run_boot
    from kernel.fs.vfs import Cwd, O_DIRECT, O_RDONLY
    f = run_boot(kernel, kernel.vfs.open(b'/data', O_RDONLY | O_DIRECT, 0, Cwd()))
    p = kernel.spawn(kernel.read_guest_file(b'/tests/direct'), [b'direct'], [])   # a process to read into
    from kernel.mm.vm import Region, Kind, Prot
    va = 0x6000_0000_0000
    p.aspace.add(Region(va, va + PAGES * 4096, Prot.READ | Prot.WRITE, Kind.ANON))
    from kernel.fs import direct
    n = run_boot(kernel, direct.read(kernel, p, f, va, PAGES * 4096, 0))
    assert n == PAGES * 4096
    assert data_blocks_cached(kernel) == 0
    assert kernel.user(p).read(va + 5 * 4096, 3) == bytes([5]) * 3


def test_map_nosync_pages_never_reach_the_disk(disk):
    run(disk, 'nosync')
    assert debugfs_cat(disk, '/data') == numbered(PAGES)


def test_map_fixed_direct_reuses_the_frames_already_mapped(disk):
    r, _ = run(disk, 'fixed')
    assert r.kernel.vmstat['direct_reused_pages'] == PAGES
