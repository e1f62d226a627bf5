"""Time the disk_io read rows interleaved (read, odirect, zero, plain), best and median of N."""
import sys, time, tempfile, gc, statistics
from pathlib import Path
sys.path.insert(0, 'bench')
import io_bench
tmp = Path(tempfile.mkdtemp())
image = io_bench.make_image(tmp, 64)
def guest(mode, path, *extra):
    out, el, k = io_bench.guest(image, '/tests/readmodes', mode, path, *extra, mem=128 << 20, prefault=True)
    assert '67108864 bytes' in out, out
    return 64 * 1.048576 / el
def plain():
    t = time.perf_counter()
    with open(image, 'rb') as f:
        f.seek(1 << 20)
        while f.read(1 << 20) and f.tell() < (64 + 1) << 20:
            pass
    return 64 * 1.048576 / (time.perf_counter() - t)
rows = {'read': lambda: guest('read', '/big'), 'odirect': lambda: guest('odirect', '/big'),
        'zero': lambda: guest('read', '/dev/zero', str(64 << 20)), 'plain': plain}
only = sys.argv[2:] or list(rows)
res = {k: [] for k in only}
for i in range(int(sys.argv[1]) if len(sys.argv) > 1 else 5):
    for k in only:
        res[k].append(rows[k]())
for k, v in res.items():
    print(f'{k:8} best {max(v):7.0f} median {statistics.median(v):7.0f} MB/s')
if 'read' in res and 'zero' in res:
    print(f'read/zero {max(res["read"])/max(res["zero"]):.2f}', end=' ')
if 'read' in res and 'plain' in res:
    print(f'read/plain {max(res["read"])/max(res["plain"]):.2f}', end=' ')
if 'odirect' in res and 'plain' in res:
    print(f'odirect/plain {max(res["odirect"])/max(res["plain"]):.2f}')
