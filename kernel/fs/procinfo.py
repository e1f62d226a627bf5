"""What the files of /proc say, in Linux's formats (proc(5)), so that ps, top, free and
the programs that parse them read ukern as they read Linux.

Each function takes the kernel (and a process) and returns the file's bytes; fs/procfs.py
serves them.  Times are virtual, in clock ticks (USER_HZ, 100 a second) where Linux
counts ticks; memory is counted in frames of the frame allocator.
"""

from ..mm.frames import PAGE_SIZE
from ..mm.vm import Kind, Prot
from ..proc import signal as sig
from ..proc.resources import Rlimit
from ..sys.info import ticks, swap_pages, load_average
from ..sys.time import EPOCH_NS

STATE = {'runnable': ('R', 'running'), 'blocked': ('S', 'sleeping'), 'stopped': ('T', 'stopped'),
         'zombie': ('Z', 'zombie')}
KB_PER_PAGE = PAGE_SIZE // 1024
SIGCHLD = 17
CONSOLE_TTY = (5 << 8) | 1               # /dev/console: major 5, minor 1
VERSION = 'Linux version 6.1.0-ukern (ukern@ukern) (Python) #1 ukern'
PID_MAX = 32768


def _kb(pages: int) -> int:
    return pages * KB_PER_PAGE


# -- one process ------------------------------------------------------------------------------
def _state(p) -> tuple[str, str]:
    return STATE.get(p.state.value, ('?', 'unknown'))


def _mask(infos) -> int:
    bits = 0
    for info in infos:
        bits |= sig.bit(info.sig)
    return bits


def _signal_sets(p) -> tuple[int, int, int, int]:
    """(pending, blocked, ignored, caught) as bit masks."""
    pending = 0
    for info in p.sigpending:
        pending |= sig.bit(info.sig)
    ignored = caught = 0
    for s, act in p.sigactions.items():
        if act.handler == sig.SIG_IGN:
            ignored |= sig.bit(s)
        elif act.handler != sig.SIG_DFL:
            caught |= sig.bit(s)
    return pending, p.sigmask, ignored, caught


def _layout(p) -> dict:
    """Where the program's code, data, heap and stack are (0 for a zombie)."""
    a = p.aspace
    out = dict(startcode=0, endcode=0, start_data=0, end_data=0, start_brk=0, startstack=0)
    if a is None or p.state.value == 'zombie':
        return out
    elf = [r for r in a.regions if r.kind is Kind.ELF]
    code = [r for r in elf if r.prot & Prot.EXEC]
    data = [r for r in elf if r.prot & Prot.WRITE]
    stack = [r for r in a.regions if r.kind is Kind.STACK]
    if code:
        out.update(startcode=code[0].start, endcode=code[-1].end)
    if data:
        out.update(start_data=data[0].start, end_data=data[-1].end)
    out['start_brk'] = a.brk_start
    if stack:
        out['startstack'] = stack[0].end
    return out


def _sizes(p) -> tuple[int, int]:
    """(VmSize in bytes, VmRSS in pages); nothing for a zombie."""
    if p.state.value == 'zombie':
        return 0, 0
    return p.aspace.size(), p.aspace.resident()


def _tty(k, p) -> tuple[int, int]:
    """(tty_nr, tpgid): the console, for the session that has it (the first process's)."""
    foreground = getattr(k.console, 'foreground', 0)
    return (CONSOLE_TTY, foreground or -1) if p.sid == 1 or p.sid == foreground else (0, -1)


def _threads(k, p) -> int:
    """How many live threads p's process has (at least 1, for a zombie's last report)."""
    from ..proc.lifecycle import threads_of      # (lifecycle imports the file layer)
    return max(1, len(threads_of(k, p)))


def stat(k, p) -> bytes:
    """/proc/PID/stat: 52 fields, in the order proc(5) gives."""
    u, c = p.usage, p.usage.children
    vsize, rss = _sizes(p)
    lay = _layout(p)
    pending, blocked, ignored, caught = _signal_sets(p)
    tty_nr, tpgid = _tty(k, p)
    exited = p.exit_status if p.state.value == 'zombie' else 0
    fields = [
        p.pid, f'({p.name})', _state(p)[0], p.ppid, p.pgid, p.sid, tty_nr, tpgid,
        0x400000,                                   # flags: PF_RANDOMIZE, as a user process shows
        u.minflt, c.minflt, u.majflt, c.majflt,
        ticks(u.utime), ticks(u.stime), ticks(c.utime), ticks(c.stime),
        20 + p.options.nice, p.options.nice, _threads(k, p), 0,  # priority, nice, threads, itrealvalue
        ticks(u.start), vsize, rss, p.limits.soft(Rlimit.RSS),
        lay['startcode'], lay['endcode'], lay['startstack'], 0, 0,    # kstkesp, kstkeip
        pending, blocked, ignored, caught,
        0, 0, 0, SIGCHLD, 0,                        # wchan nswap cnswap exit_signal processor
        0, 0, 0, 0, 0,                              # rt_priority policy blkio_ticks guest cguest
        lay['start_data'], lay['end_data'], lay['start_brk'],
        0, 0, 0, 0,                                 # arg_start arg_end env_start env_end
        exited,
    ]
    assert len(fields) == 52
    return (' '.join(str(f) for f in fields) + '\n').encode()


def status(k, p) -> bytes:
    """/proc/PID/status."""
    letter, word = _state(p)
    cr = p.creds
    vsize, rss = _sizes(p)
    pending, blocked, ignored, caught = _signal_sets(p)
    stack = sum(r.end - r.start for r in p.aspace.regions if r.kind is Kind.STACK) \
        if p.state.value != 'zombie' else 0
    lines = [
        ('Name', p.name), ('Umask', '0022'), ('State', f'{letter} ({word})'),
        ('Tgid', p.tgid), ('Ngid', 0), ('Pid', p.pid), ('PPid', p.ppid), ('TracerPid', 0),
        ('Uid', f'{cr.ruid}\t{cr.euid}\t{cr.suid}\t{cr.fsuid}'),
        ('Gid', f'{cr.rgid}\t{cr.egid}\t{cr.sgid}\t{cr.fsgid}'),
        ('FDSize', 64 if p.fds.limit <= 64 else 256),
        ('Groups', ' '.join(str(g) for g in cr.groups) + (' ' if cr.groups else '')),
        ('NStgid', p.pid), ('NSpid', p.pid), ('NSpgid', p.pgid), ('NSsid', p.sid),
        ('VmPeak', f'{max(vsize, p.usage.maxrss * PAGE_SIZE) // 1024:8d} kB'),
        ('VmSize', f'{vsize // 1024:8d} kB'), ('VmLck', f'{0:8d} kB'), ('VmPin', f'{0:8d} kB'),
        ('VmHWM', f'{_kb(max(rss, p.usage.maxrss)):8d} kB'), ('VmRSS', f'{_kb(rss):8d} kB'),
        ('VmStk', f'{stack // 1024:8d} kB'), ('VmSwap', f'{0:8d} kB'),
        ('Threads', _threads(k, p)), ('SigQ', f'{len(p.sigpending) + len(p.group_signals.pending)}/{p.limits.soft(Rlimit.SIGPENDING)}'),
        ('SigPnd', f'{pending:016x}'), ('ShdPnd', f'{_mask(p.group_signals.pending):016x}'), ('SigBlk', f'{blocked:016x}'),
        ('SigIgn', f'{ignored:016x}'), ('SigCgt', f'{caught:016x}'),
        ('CapInh', f'{0:016x}'), ('CapPrm', f'{0x1ffffffffff if cr.euid == 0 else 0:016x}'),
        ('CapEff', f'{0x1ffffffffff if cr.euid == 0 else 0:016x}'),
        ('CapBnd', f'{0x1ffffffffff:016x}'), ('CapAmb', f'{0:016x}'),
        ('NoNewPrivs', p.options.no_new_privs), ('Seccomp', 0),
        ('Cpus_allowed', '1'), ('Cpus_allowed_list', '0'),
        ('Mems_allowed', '1'), ('Mems_allowed_list', '0'),
    ]
    return ''.join(f'{name}:\t{value}\n' for name, value in lines).encode()


def cmdline(k, p) -> bytes:
    """Every argument, each followed by a NUL (nothing for a zombie, as Linux)."""
    if p.state.value == 'zombie':
        return b''
    return b''.join(a + b'\0' for a in p.argv) if p.argv else p.name.encode() + b'\0'


def _perms(r) -> str:
    prot = int(r.prot)
    return ('r' if prot & 1 else '-') + ('w' if prot & 2 else '-') + ('x' if prot & 4 else '-') + \
        ('s' if r.shared else 'p')


MAPS_NAME_COLUMN = 73                    # Linux pads the fields out to 73 characters before a name


def _mapped_ino(f) -> int:
    """The inode number of a mapped file: ext2's (its holder), tmpfs's (its node), else 0."""
    ino = getattr(f.holder, 'ino', None)
    if ino is None:
        ino = getattr(getattr(f.cache, 'node', None), 'ino', 0)
    return ino


def _map_line(r) -> str:
    offset, dev, ino, name = 0, '00:00', 0, ''
    if r.kind is Kind.ELF:
        offset, dev, name = 0, '08:01', r.name
        if r.file is not None:                 # a paged program's segment (proc/program.py)
            offset = r.file.first * PAGE_SIZE
        elif r.image is not None:
            offset = r.image.base + r.image.offset
    elif r.kind is Kind.FILE and r.file is not None:
        offset, dev, ino = r.file.first * PAGE_SIZE, '08:01', _mapped_ino(r.file)
        name = r.name if r.name.startswith('/') else ''       # the path it was mapped by
    elif r.kind in (Kind.HEAP, Kind.STACK) or r.name.startswith('[sysv'):
        name = r.name
    head = f'{r.start:08x}-{r.end:08x} {_perms(r)} {offset:08x} {dev} {ino} '
    return (head.ljust(MAPS_NAME_COLUMN) + name if name else head) + '\n'


def maps(k, p) -> bytes:
    """/proc/PID/maps: one line per mapping, lowest address first."""
    if p.state.value == 'zombie':
        return b''
    return ''.join(_map_line(r) for r in p.aspace.regions).encode()


PROCESS_FILES = {'stat': stat, 'status': status, 'cmdline': cmdline, 'maps': maps}


# -- the machine ------------------------------------------------------------------------------
def _cache_stats(k) -> dict:
    vfs = k.vfs
    cache = getattr(vfs, 'cache', None) if vfs is not None else None
    if cache is None:
        return dict(cached=0, dirty=0, block=PAGE_SIZE)
    return dict(cache.stats(), block=cache.block_size or PAGE_SIZE)


def meminfo(k) -> bytes:
    frames = k.frames
    cache = _cache_stats(k)
    cached_kb = cache['cached'] * cache['block'] // 1024
    dirty_kb = cache['dirty'] * cache['block'] // 1024
    total_swap, free_swap = swap_pages(k)
    free_kb = _kb(frames.free_count)
    rows = [('MemTotal', _kb(frames.total)), ('MemFree', free_kb),
            ('MemAvailable', free_kb + cached_kb - dirty_kb), ('Buffers', 0), ('Cached', cached_kb),
            ('SwapCached', 0), ('Active', 0), ('Inactive', 0),
            ('SwapTotal', _kb(total_swap)), ('SwapFree', _kb(free_swap)),
            ('Dirty', dirty_kb), ('Writeback', 0), ('AnonPages', 0), ('Mapped', 0),
            ('Shmem', _kb(len(k.reclaim.owners))),          # tmpfs pages in memory
            ('Slab', 0), ('PageTables', 0), ('CommitLimit', _kb(frames.total // 2 + total_swap)),
            ('Committed_AS', 0), ('VmallocTotal', 0), ('VmallocUsed', 0), ('HugePages_Total', 0),
            ('Hugepagesize', 2048)]
    return ''.join(f'{(name + ":"):<16}{value:8d} kB\n' if not name.startswith('HugePages')
                   else f'{(name + ":"):<16}{value:8d}\n' for name, value in rows).encode()


def vmstat(k) -> bytes:
    counters = getattr(k, 'vmstat', {})
    return ''.join(f'{name} {value}\n' for name, value in sorted(counters.items())).encode()


def _centis(ns: int) -> str:
    return f'{ns // 10**9}.{(ns % 10**9) // 10**7:02d}'


def uptime(k) -> bytes:
    return f'{_centis(k.clock.now)} {_centis(getattr(k, "idle_ns", 0))}\n'.encode()


def loadavg(k) -> bytes:
    load = load_average(k)
    return f'{load}.00 {load}.00 {load}.00 {len(k.runqueue)}/{len(k.procs)} {k.next_pid - 1}\n'.encode()


def _cpu_times(k) -> tuple[int, int, int]:
    """(user, system, idle) ticks: what the processes alive and their reaped children used."""
    user = sum(p.usage.utime + p.usage.children.utime for p in k.procs.values())
    system = sum(p.usage.stime + p.usage.children.stime for p in k.procs.values())
    return ticks(user), ticks(system), ticks(getattr(k, 'idle_ns', 0))


def cpu_stat(k) -> bytes:
    """/proc/stat."""
    user, system, idle = _cpu_times(k)
    cpu = f'{user} 0 {system} {idle} 0 0 0 0 0 0'
    running = sum(1 for p in k.procs.values() if p.state.value == 'runnable')
    blocked = sum(1 for p in k.procs.values() if p.state.value == 'blocked')
    return (f'cpu  {cpu}\ncpu0 {cpu}\nintr 0\nctxt 0\nbtime {EPOCH_NS // 10**9}\n'
            f'processes {k.next_pid - 1}\nprocs_running {running}\nprocs_blocked {blocked}\n'
            f'softirq 0 0 0 0 0 0 0 0 0 0 0\n').encode()


def version(k) -> bytes:
    return (VERSION + '\n').encode()


def cpuinfo(k) -> bytes:
    rows = [('processor', 0), ('vendor_id', 'GenuineIntel'), ('cpu family', 6), ('model', 6),
            ('model name', 'ukern virtual x86-64 (Unicorn)'), ('stepping', 0),
            ('cpu MHz', '1000.000'), ('cache size', '0 KB'), ('physical id', 0), ('siblings', 1),
            ('core id', 0), ('cpu cores', 1), ('apicid', 0), ('fpu', 'yes'), ('cpuid level', 1),
            ('wp', 'yes'), ('flags', 'fpu tsc cx8 cmov mmx fxsr sse sse2 syscall nx lm'),
            ('bogomips', '100.00'), ('clflush size', 64), ('cache_alignment', 64),
            ('address sizes', '40 bits physical, 48 bits virtual')]
    return (''.join(f'{name}\t: {value}\n' for name, value in rows) + '\n').encode()


MACHINE_FILES = {'meminfo': meminfo, 'vmstat': vmstat, 'uptime': uptime, 'loadavg': loadavg,
                 'stat': cpu_stat, 'version': version, 'cpuinfo': cpuinfo}

SYSCTL_KERNEL = {
    'pid_max': lambda k: f'{PID_MAX}\n'.encode(),
    'ostype': lambda k: b'Linux\n',
    'osrelease': lambda k: b'6.1.0-ukern\n',
    'hostname': lambda k: b'ukern\n',
    'ngroups_max': lambda k: b'65536\n',
}
