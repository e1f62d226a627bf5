"""The system calls real programs ask for that are not about files or threads (issue 15):
mremap and madvise, process information (sysinfo, getrusage, times, prctl, ids, waitid),
resource limits, System V IPC, and what /proc says.  One guest program per behaviour."""

import pytest

from conftest import run_on_disk


def passed(r, name):
    """A Pintos-style guest test passed: begin, end, exit 0, no FAIL."""
    assert 'FAIL' not in r.text, r.text
    assert f'({name}) begin' in r.text and f'({name}) end' in r.text, r.text
    assert r.status == 0, r.text + '\n'.join(r.log)


@pytest.mark.parametrize('name', [
    'misc_mremap',          # growth in place, moving, shrinking, MREMAP_FIXED, errors
    'mremap_merged',        # across an mprotect undone: one mapping, as Linux's vmas merge
    'misc_realloc',         # musl's realloc 1 MiB -> 8 MiB keeps the data (an mremap)
    'misc_madvise',         # MADV_DONTNEED zeroes and frees; unknown advice EINVAL
    'misc_sysinfo',         # memory, uptime, processes
    'misc_sched',           # getcpu, affinity (its size), priorities, policy, uname
    'misc_rusage',          # minflt, maxrss, children's usage, times()
    'misc_ids',             # set*id/getres*id consistency, groups, getppid of pid 1
    'misc_waitid',          # WNOWAIT then wait4, siginfo, WNOHANG, WSTOPPED, WCONTINUED
    'misc_rlimit_nofile',   # EMFILE at the soft limit, inherited by fork
    'misc_rlimit_as',       # mmap and brk fail beyond RLIMIT_AS
    'misc_rlimit_stack',    # the stack grows to RLIMIT_STACK and no further
    'shm_fork',             # a segment shared with a forked child; keys, IPC_EXCL
    'shm_rmid',             # IPC_RMID destroys at the last detach (shmdt, exit)
    'sem_wait',             # blocking semop, IPC_NOWAIT, timeout, SEM_UNDO, EIDRM
    'msg_queue',            # types 0/positive/negative, E2BIG, blocking receive, EIDRM
    'ipc_info',             # IPC_INFO, SHM_INFO, SEM_INFO, MSG_INFO, the *_STAT commands
])
def test_guest(run, name):
    passed(run(f'tests/{name}'), name)


@pytest.mark.parametrize('name, args', [
    ('misc_proc_stat', ()),         # 52 fields that parse
    ('misc_proc_maps', ()),         # heap, stack, shared mappings, Linux's columns
    ('misc_proc_cmdline', ('one', 'two words', '')),   # every argument; status, meminfo, ...
    ('misc_prctl', ()),             # PR_SET_NAME shows in /proc/self/stat and status
    ('misc_mremap_file', ()),       # growing file mappings maps the file's next pages
    ('shm_exec', ()),               # exec detaches: a removed segment is destroyed
])
def test_guest_with_proc(disk, name, args):
    passed(run_on_disk(disk, f'/tests/{name}', *args), name)


def test_proc_files_of_a_zombie(disk):
    """A zombie's stat says Z and its exit status (field 52); it has no cmdline or maps."""
    from kernel.fs import procinfo
    r = run_on_disk(disk, '/tests/misc_proc_stat')
    p = r.kernel.procs[1]                    # the first process stays a zombie (no parent)
    fields = procinfo.stat(r.kernel, p).decode().split()
    assert len(fields) == 52
    assert fields[:4] == ['1', '(misc_proc_stat)', 'Z', '0']
    assert fields[-1] == str(r.status) and fields[22:24] == ['0', '0']     # vsize, rss
    assert procinfo.cmdline(r.kernel, p) == b'' and procinfo.maps(r.kernel, p) == b''


def test_rlimit_nproc_stops_forks(run):
    """RLIMIT_NPROC is enforced at fork: the fork that would pass it fails with EAGAIN."""
    r = run('tests/misc_nproc')
    passed(r, 'misc_nproc')


def test_mremap_moves_entries_and_the_reverse_map_follows():
    """A moved range keeps its frames (no copy): each frame's reverse-map entry names the
    new address, and copy-on-write sharing with a fork survives the move."""
    from conftest import boot
    from emu.cpu import PF_WRITE, PF_USER
    from kernel.mm import fault
    from kernel.mm.pagetable import ADDR_MASK
    from kernel.mm.vm import AddressSpace, Region, Kind, Prot
    k, _, _ = boot()
    a = AddressSpace(k.frames, k.kernel_pdpt)
    base, to, pages = 0x4000_0000, 0x5000_0000, 8
    a.add(Region(base, base + pages * 4096, Prot.READ | Prot.WRITE, Kind.ANON, 'data'))
    for i in range(pages):
        fault.handle(a, k.frames, base + i * 4096, PF_WRITE | PF_USER, 0)
    frames = [a.pt.lookup(base + i * 4096) & ADDR_MASK for i in range(pages)]
    child = a.fork()
    free = k.frames.free_count
    a.move_pages(base, base + pages * 4096, to)
    assert 0 <= free - k.frames.free_count <= 3     # page tables for the new place, no page copied
    assert [a.pt.lookup(to + i * 4096) & ADDR_MASK for i in range(pages)] == frames
    assert all(a.pt.lookup(base + i * 4096) == 0 for i in range(pages))
    for i, f in enumerate(frames):
        assert set(k.frames.rmap.mappers(f)) == {(a, to + i * 4096), (child, base + i * 4096)}
        assert k.frames.refs(f) == 2
    a.destroy()                    # (no task owns these spaces: the books then balance)
    child.destroy()
