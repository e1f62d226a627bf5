"""The system-call fuzzer: sequences of calls from the kernel's syscall table, with
arguments drawn by `hypothesis` from typed strategies, performed by a guest process
(userland/tests/fuzz_syscalls.c, the script in hex as its argument) with the raw `syscall`
instruction.

Argument kinds come from the strace decoder's signatures (kernel/trace/sysargs.py): a
descriptor gets valid, closed and absurd descriptors; a pointer gets addresses in the guest's
arena (where strings, iovecs and random bytes are laid out), NULL, kernel-half and
non-canonical addresses, and an address straddling the arena's end; a length gets 0, page
boundaries, 2**31, 2**63 and all ones; flags get combinations of low bits and wild words.

A sequence may run in several workers at once: besides the first process, up to three
forked processes and threads (raw clone) each make calls of their own, yielding after every
call, so the scheduler interleaves them.

The property: no Python exception escapes the kernel (kernel bugs are not contained), and
every result the guest saw is a value or a negative errno Linux could return for that call:
one its manual page lists in ERRORS (fuzz/errnos.py, made by fuzz/errno_table.py), or any
errno for a call without such a list (ukern's own, unknown numbers).  Calls that would end
the fuzzing process are left out (exit, exit_group, execve, execveat, rt_sigreturn), and the
kill family only ever sends signal 0.
"""

import errno
import hashlib
import json
import struct
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, seed, settings, strategies as st

from .common import USERLAND, Finding, boot, guarded, run_process, save

RUNNER = 'tests/fuzz_syscalls'
ARENA, ARENA_SIZE = 0x1000_0000, 65536
RESULT_MARK = b'\x01UKFZ-RESULTS\x02'
MAX_CALLS = 24
MAX_WORKERS = 4                     # the first process and up to three more
WORKER_KINDS = {'forked': 1, 'thread': 2}
LEFT_OUT = {'exit', 'exit_group', 'execve', 'execveat', 'rt_sigreturn'}
SIGNAL_ZERO = {'kill', 'tkill', 'tgkill', 'rt_sigqueueinfo', 'rt_tgsigqueueinfo'}
VIRTUAL_LIMIT_NS = 100_000_000

# The arena: paths at fixed offsets, iovecs into the arena, then random bytes.
PATHS = [b'/', b'.', b'..', b'/tmp', b'/tmp/f', b'/tmp/d', b'/tmp/d/../f', b'/dev/null',
         b'/dev/zero', b'/dev/console', b'/proc/self/maps', b'/proc/self/status', b'/proc/1/fd',
         b'', b'f', b'/nonexistent/x', b'/tmp/' + b'n' * 300, b'/proc/self/exe', b'/dev/disk0']
PATH_SLOT = 320
IOV_AT = 0x1800
LONG_PATH_AT = 0x2000                 # 4 KiB of '/a', a path of PATH_MAX bytes and more
RANDOM_AT = 0x3000


def arena_bytes(noise: bytes) -> bytes:
    arena = bytearray(RANDOM_AT + len(noise))
    for i, path in enumerate(PATHS):
        arena[i * PATH_SLOT:i * PATH_SLOT + len(path)] = path
    iovs = [(ARENA + 0x9000, 16), (ARENA + 0xA000, 4096), (0, 10), (ARENA + ARENA_SIZE - 8, 64),
            (0xFFFF_8000_0000_0000, 8), (ARENA + 0xB000, 0)]
    for i, (base, length) in enumerate(iovs):
        struct.pack_into('<QQ', arena, IOV_AT + 16 * i, base, length)
    arena[LONG_PATH_AT:LONG_PATH_AT + 0x1000] = b'/a' * 0x800
    arena[RANDOM_AT:RANDOM_AT + len(noise)] = noise
    return bytes(arena)


U64 = (1 << 64) - 1
FDS = st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, 8, -1, 199, 1023, 1024, 65536, 2**31 - 1,
                       2**32 + 1, 2**63, -2**31])
DIRFDS = st.one_of(st.just(-100), FDS)                   # AT_FDCWD
POINTERS = st.one_of(
    st.sampled_from([ARENA + i * PATH_SLOT for i in range(len(PATHS))]),
    st.sampled_from([ARENA + IOV_AT, ARENA + LONG_PATH_AT, ARENA + RANDOM_AT,
                     ARENA + ARENA_SIZE - 1, ARENA + ARENA_SIZE - 4, ARENA + ARENA_SIZE]),
    st.integers(0, ARENA_SIZE - 1).map(lambda off: ARENA + off),
    st.sampled_from([0, 1, 0xFFF, 0x40_0000, 0x7FFF_FFFF_F000, 0x7FFF_FFFF_FFFF, 1 << 47,
                     0xFFFF_8000_0000_0000, 0xFFFF_FFFF_FF60_0000, 0xFFFF_FFFF_FFFF_F000, U64]),
    st.integers(0, U64))
LENGTHS = st.one_of(
    st.sampled_from([0, 1, 2, 8, 16, 64, 4095, 4096, 4097, 65536, 2**31 - 1, 2**31, 2**32,
                     2**32 + 1, 2**63 - 1, 2**63, U64, -1, -4096]),
    st.integers(0, 1 << 16), st.integers(-2**63, U64))
FLAGS = st.one_of(st.sampled_from([0, 1, 2, 3, 4, 8, 0x40, 0x80, 0x100, 0x200, 0x400, 0x800,
                                   0x1000, 0x4000, 0x10000, 0x80000, 0x400000, 0x80000000, U64]),
                  st.integers(0, 0xFFF), st.integers(0, 0xFFFF_FFFF), st.integers(0, U64))
SIGNALS = st.one_of(st.integers(0, 65), st.sampled_from([-1, 2**31, U64]))
NUMBERS = st.one_of(LENGTHS, FLAGS)

KINDS = {'fd': FDS, 'dirfd': DIRFDS, 'uint': LENGTHS, 'int': LENGTHS, 'int32': LENGTHS,
         'hex': NUMBERS, 'signal': SIGNALS, 'path': POINTERS}
POINTER_KINDS = ('ptr', 'buf', 'outbuf', 'outstr', 'iov', 'outiov', 'argv', 'envp', 'dirents',
                 'pollfds', 'outfds', 'timespec', 'timespecs', 'timeval', 'sigset', 'stack',
                 'sigaction', 'rlimit', 'itimerval', 'epollevent', 'ioctlarg', 'fcntlarg')


def kind_strategy(kind: str):
    if kind in KINDS:
        return KINDS[kind]
    if kind in POINTER_KINDS or kind.startswith('out'):
        return st.one_of(POINTERS, NUMBERS) if kind in ('ioctlarg', 'fcntlarg') else POINTERS
    return FLAGS


def call_table() -> dict[str, tuple[int, tuple]]:
    """name -> (number, argument strategies) for every call in the table but LEFT_OUT."""
    from kernel.sys.table import SYSCALLS
    from kernel.trace.sysargs import SIGNATURES
    table = {}
    for nr, entry in sorted(SYSCALLS.items()):
        if entry.name in LEFT_OUT:
            continue
        kinds = SIGNATURES.get(entry.name)
        args = (tuple(kind_strategy(k) for k in kinds) if kinds is not None
                else tuple(st.one_of(POINTERS, NUMBERS, FDS) for _ in range(entry.nargs)))
        if entry.name in SIGNAL_ZERO:
            args = tuple(st.just(0) if k == 'signal' else s for k, s in zip(kinds or (), args))
        table[entry.name] = (nr, args)
    return table


def calls():
    table = call_table()
    known = st.sampled_from(sorted(table)).flatmap(
        lambda name: st.tuples(st.just(table[name][0]), *table[name][1]))
    unknown = st.tuples(st.integers(0, 1100).filter(lambda nr: nr not in _numbers_left_out()),
                        *(st.one_of(POINTERS, NUMBERS) for _ in range(6)))
    return st.one_of(known, known, known, unknown)


def workers():
    """The other workers of a sequence: none, or up to three forked processes and threads,
    each with calls of its own."""
    one = st.tuples(st.sampled_from(sorted(WORKER_KINDS)), st.lists(calls(), min_size=1, max_size=MAX_CALLS // 2))
    return st.lists(one, max_size=MAX_WORKERS - 1)


def _numbers_left_out() -> set[int]:
    from kernel.sys.table import SYSCALLS
    return {nr for nr, e in SYSCALLS.items() if e.name in LEFT_OUT}


SCRATCH = ARENA + 0xF000             # where the set-up calls' outputs go


def setup_calls() -> list[tuple]:
    """Calls made before every sequence, so that descriptors 3-9 are open on different
    kinds of file (most fuzzed calls would otherwise stop at EBADF): a tmpfs file with data
    and a shared mapping of it, a pipe, /dev/null, an eventfd, an epoll, a directory."""
    nr = {name: n for name, (n, _) in call_table().items()}
    path = lambda p: ARENA + PATHS.index(p) * PATH_SLOT                       # noqa: E731
    at_fdcwd, o_rdwr, o_creat, o_directory = -100, 2, 0o100, 0o200000
    return [(nr['openat'], at_fdcwd, path(b'/tmp/f'), o_rdwr | o_creat, 0o644),     # 3
            (nr['pipe2'], SCRATCH, 0),                                            # 4, 5
            (nr['openat'], at_fdcwd, path(b'/dev/null'), o_rdwr),                  # 6
            (nr['eventfd2'], 0, 0),                                               # 7
            (nr['epoll_create1'], 0),                                             # 8
            (nr['mkdirat'], at_fdcwd, path(b'/tmp/d'), 0o755),
            (nr['openat'], at_fdcwd, path(b'/tmp/d'), o_directory),                # 9
            (nr['write'], 3, ARENA, 8192),
            (nr['mmap'], 0, 8192, 3, 1, 3, 0)]                 # PROT_READ|WRITE, MAP_SHARED


def script(seq, noise: bytes, workers=()) -> bytes:
    """The guest's script: the set-up calls, then seq in the first process and each
    (kind, calls) of workers in a forked process or a thread."""
    setup = setup_calls()
    lists = [list(seq)] + [list(calls) for _, calls in workers]
    every = setup + [call for calls in lists for call in calls]
    arena = arena_bytes(noise)
    out = bytearray(b'UKFZ' + struct.pack('<II', len(every), len(arena)) + arena)
    out += struct.pack('<II', len(setup), len(lists)) + struct.pack('<II', 0, len(lists[0]))
    for kind, calls in workers:
        out += struct.pack('<II', WORKER_KINDS[kind], len(calls))
    for call in every:
        words = (list(call) + [0] * 7)[:7]
        out += struct.pack('<7Q', *(w & U64 for w in words))
    return bytes(out)


def records(out: bytes) -> dict[int, tuple]:
    """worker -> the results it reported (its calls' raw return values)."""
    found = {}
    at = out.find(RESULT_MARK)
    while at >= 0:
        body = out[at + len(RESULT_MARK):]
        if len(body) >= 8:
            worker, n = struct.unpack_from('<II', body)
            if len(body) >= 8 + 8 * n:
                found[worker] = struct.unpack_from(f'<{n}q', body, 8)
        at = out.find(RESULT_MARK, at + 1)
    return found


def run_script(seq, noise: bytes, workers=()) -> str:
    """Run the guest on one script in a fresh kernel; the outcome, or an exception."""
    kernel, out, log = boot()
    data = script(seq, noise, workers)
    p = kernel.spawn((USERLAND / RUNNER).read_bytes(), [b'/fuzz_syscalls', data.hex().encode()], [])
    status = run_process(kernel, p, VIRTUAL_LIMIT_NS)
    got = records(bytes(out))
    if not got:
        return f'no results ({status})'
    lists = [setup_calls() + list(seq)] + [list(calls) for _, calls in workers]
    wrong = []
    for worker, results in got.items():
        for call, r in zip(lists[worker], results):
            wrong += undocumented(call[0], r)
            _seen[(call[0], 'ok' if r >= 0 else -r)] += 1
    if wrong:
        raise AssertionError(f'results Linux does not give for these calls: {sorted(set(wrong))}')
    every = all(len(got.get(w, ())) == len(calls) for w, calls in enumerate(lists))
    done = [r for results in got.values() for r in results]
    failed = sum(1 for r in done if r < 0)
    share = 'none' if not failed else 'all' if failed == len(done) else 'some'
    who = f'{len(got)} of {len(lists)} workers' if len(lists) > 1 else 'one worker'
    return f'{status}, {who}, {"every call done" if every else "cut short"}, {share} failed'


_seen: Counter = Counter()           # (number, 'ok' or errno) -> how often, over the process


def undocumented(nr: int, result: int) -> list[str]:
    """[] if result is a value, or an errno the call may give; else what is wrong."""
    if result >= 0:
        return []
    if result < -4095:
        return [f'{_name(nr)} = {result}: neither a value nor an errno']
    allowed = _allowed().get(nr)
    if allowed is None or -result in allowed:
        return []
    return [f'{_name(nr)}: {errno.errorcode.get(-result, -result)}']


def _name(nr: int) -> str:
    from kernel.sys.table import SYSCALLS
    entry = SYSCALLS.get(nr)
    return entry.name if entry else f'syscall_{nr}'


_ALLOWED: dict = {}


def _allowed() -> dict[int, set[int]]:
    """number -> the errno values its manual page lists (fuzz/errnos.py)."""
    if not _ALLOWED:
        from kernel.sys.table import SYSCALLS
        from .errnos import DOCUMENTED
        for nr, entry in SYSCALLS.items():
            if entry.name in DOCUMENTED:
                _ALLOWED[nr] = {getattr(errno, name) for name in DOCUMENTED[entry.name]}
    return _ALLOWED


def coverage() -> dict[str, int]:
    """How many distinct (call, result) pairs the guest saw, and over how many calls."""
    return {'distinct (call, errno) pairs': len(_seen),
            'distinct call numbers made (unknown ones too)': len({nr for nr, _ in _seen})}


def check(seq, noise: bytes, workers=()) -> str:
    return guarded(run_script, seq, noise, workers)


def fuzz(tally, rng, count: int, keep: bool = True) -> None:
    """`count` sequences (hypothesis examples), in batches seeded from rng."""
    done = 0
    while done < count:
        n = min(100, count - done)
        _batch(tally, rng.getrandbits(32), n, keep)
        done += n


def _batch(tally, batch_seed: int, n: int, keep: bool) -> None:
    found = []

    @seed(batch_seed)
    @settings(max_examples=n, database=None, deadline=None, derandomize=False,
              phases=(Phase.generate, Phase.shrink), suppress_health_check=list(HealthCheck))
    @given(st.lists(calls(), min_size=1, max_size=MAX_CALLS), st.binary(max_size=256), workers())
    def prop(seq, noise, others):
        try:
            outcome = check(seq, noise, others)
        except Finding as f:
            found.append((f, seq, noise, others))
            raise
        if not found:                     # (shrinking runs are not new inputs)
            tally.record(outcome)

    try:
        prop()
    except Finding:
        f, seq, noise, others = found[-1]         # the last failure is the shrunk one
        meta = {'calls': [list(c) for c in seq], 'noise': noise.hex(),
                'workers': [[kind, [list(c) for c in calls]] for kind, calls in others],
                'finding': f.text.strip().splitlines()[-1]}
        name = 'sys-' + hashlib.sha1(json.dumps([meta['calls'], meta['workers']]).encode()).hexdigest()[:12]
        tally.finding(f, save('syscalls', name, b'', meta) if keep else '')


def replay(path: Path, meta: dict) -> str:
    workers = [(kind, [tuple(c) for c in calls]) for kind, calls in meta.get('workers', [])]
    return run_script([tuple(c) for c in meta['calls']], bytes.fromhex(meta['noise']), workers)
