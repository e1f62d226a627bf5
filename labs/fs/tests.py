"""Grading tests of the ext2 lab (labs/fs/README.md): guest programs on a fresh disk, then
the disk read from the host with debugfs and checked with e2fsck -fn."""

import subprocess

from gradelib import test, expect, expect_true, passed, disk

BLOCK = 4096
BIG_BLOCKS = 6 * 256


def _run(image, program):
    import conftest
    return conftest.run_on_disk(image, program)


def _debugfs(image, request: str) -> str:
    import conftest
    part = conftest.partition1(image, image.with_suffix('.p1'))
    return subprocess.run(['debugfs', '-R', request, str(part)], capture_output=True, text=True).stdout


def _cat(image, path):
    import conftest
    return conftest.debugfs_cat(image, path)


def _fsck(image):
    import conftest
    r = conftest.fsck(image)
    expect('e2fsck -fn exit status (0: the file system is consistent)', 0, r.returncode,
           (r.stdout + r.stderr)[-1500:])


def _stamp(n: int) -> bytes:
    """Block n of /big as tests/fs_bigfile writes it."""
    text = f'block {n}'.encode() + b'\0'
    return text + bytes([ord('a') + n % 26]) * (BLOCK - len(text))


@test('fs: block_path: direct, singly- and doubly-indirect blocks', points=10)
def _():
    from kernel.fs import ext2_alloc
    ppb = 1024
    cases = {0: (0, ()), 11: (11, ()), 12: (12, (0,)), 12 + 1023: (12, (1023,)),
             12 + 1024: (13, (0, 0)), 12 + 1024 + 1: (13, (0, 1)), 12 + 1024 + 1024: (13, (1, 0)),
             12 + 1024 + 5 * 1024 + 7: (13, (5, 7)), 12 + 1024 + 1024 * 1024 - 1: (13, (1023, 1023))}
    for lbn, want in cases.items():
        got = ext2_alloc.block_path(lbn, ppb)
        expect(f'block_path({lbn}, {ppb})', want, tuple(got) if got else got)
    got = ext2_alloc.block_path(12 + 256 + 3 * 256 + 9, 256)
    expect('block_path(1045, 256) (1 KiB blocks: 256 pointers)', (13, (3, 9)), tuple(got) if got else got)


@test('fs: tests/fs_bigfile (a 6 MiB file, a sparse one with a byte at 100 MiB, truncate)', points=25)
def _():
    passed(_run(disk(), '/tests/fs_bigfile'), 'fs_bigfile')


@test('fs: debugfs reads the big and the sparse file as the guest wrote them; e2fsck is happy', points=20)
def _():
    image = disk()
    passed(_run(image, '/tests/fs_bigfile'), 'fs_bigfile')
    data = _cat(image, '/big')
    expect('size of /big read by debugfs', BIG_BLOCKS * BLOCK, len(data))
    wrong = [n for n in range(BIG_BLOCKS) if data[n * BLOCK:(n + 1) * BLOCK] != _stamp(n)]
    expect('blocks of /big that debugfs reads wrong', [], wrong[:8] + (['...'] if len(wrong) > 8 else []))
    sparse = _cat(image, '/sparse')
    expect('/sparse: size, byte at 5 MiB, byte at 100 MiB (debugfs)', (100 * 2**20 + 1, b'Y', b'Z'),
           (len(sparse), sparse[5 << 20:(5 << 20) + 1], sparse[100 << 20:]))
    expect('/truncated: 10 blocks after truncate (debugfs)', b''.join(_stamp(n) for n in range(10)),
           _cat(image, '/truncated'))
    _fsck(image)


@test('fs: tests/fs_symlink (fast and slow links, readlink, lstat, O_NOFOLLOW, dangling)', points=15)
def _():
    passed(_run(disk(), '/tests/fs_symlink'), 'fs_symlink')


@test('fs: symbolic links are stored as Linux stores them (debugfs, e2fsck)', points=10)
def _():
    image = disk()
    passed(_run(image, '/tests/fs_symlink'), 'fs_symlink')
    fast = _debugfs(image, 'stat /dangling')
    expect_true('/dangling is a fast symlink (debugfs: "Fast link dest: "nowhere"")',
                'Fast link dest: "nowhere"' in fast, 'Fast link dest: "nowhere"', fast.strip()[-300:])
    slow = _debugfs(image, 'stat /slow')
    expect_true('/slow is a symlink with one data block (debugfs: "TOTAL: 1")',
                'Type: symlink' in slow and 'TOTAL: 1' in slow, 'Type: symlink ... TOTAL: 1', slow.strip()[-300:])
    expect('/slow\'s data block holds its target (debugfs cat)', b'/' * 193 + b'target', _cat(image, '/slow')[:199])
    _fsck(image)


@test('fs: links at the edge of fast and slow (59, 60 and 4095 bytes: debugfs, e2fsck)', points=10)
def _():
    image = disk()
    passed(_run(image, '/tests/fs_links_edge'), 'fs_links_edge')
    link59, link60 = _debugfs(image, 'stat /link59'), _debugfs(image, 'stat /link60')
    expect_true('/link59 (a 59-byte target) is a fast symlink (debugfs: "Fast link dest")',
                'Fast link dest:' in link59, 'Fast link dest: ...', link59.strip()[-300:])
    expect_true('/link60 (a 60-byte target) is a slow symlink with one block (debugfs: "TOTAL: 1")',
                'Fast link dest:' not in link60 and 'Blockcount: 8' in link60 and 'TOTAL: 1' in link60,
                'Blockcount: 8 ... TOTAL: 1', link60.strip()[-300:])
    expect('/link4095\'s block holds its target (debugfs cat)', b'/' * 4091 + b'edge', _cat(image, '/link4095'))
    _fsck(image)


@test('fs: the kernel\'s own file-system tests with your code', points=10)
def _():
    for name in ('fileio', 'dirs', 'fs_hardlink', 'fs_unlink_open'):
        passed(_run(disk(), f'/tests/{name}'), name)
