"""Processes, signals, pipes and the shell (issue: processes, a preemptive scheduler,
signals, pipes, the console, and `make run` booting to a shell)."""

import pytest

from conftest import run_on_disk, boot, fsck


def passed(r, name):
    assert 'FAIL' not in r.text, r.text
    assert f'({name}) end' in r.text, r.text + '\n'.join(r.log)
    assert r.status == 0, r.text


@pytest.mark.parametrize('program', [
    'fork_cow',          # parent and children write the same pages after fork: copy-on-write
    'forkexit',          # 1000 fork + exit + waitpid
    'waitstatus',        # exit status and death-by-signal encodings
    'sigsegv_handler',   # a SIGSEGV handler runs with si_addr, siglongjmp out of it
    'sigint_self',       # a SIGINT handler runs and returns through the restorer
    'pipe_basic',        # EOF when writers close, EPIPE and SIGPIPE with no reader
    'proclimit',         # fork past the process table's limit: EAGAIN, nothing breaks
    'execve_args',       # argv/envp through execve, close-on-exec, ENOENT
    'sleep_yield',       # nanosleep and sched_yield on the virtual clock
    'spawn',             # posix_spawn and system(): clone(CLONE_VM | CLONE_VFORK)
    'orphan',            # orphans are reparented to pid 1, which reaps them
    'stopcont',          # SIGSTOP, waitpid(WUNTRACED), SIGCONT, SIGTERM
])
def test_guest_program(disk, program):
    passed(run_on_disk(disk, f'/tests/{program}'), program)


def test_no_frames_leak_after_1000_fork_and_exit(disk):
    kernel, out, log = boot(disk=disk)
    data = kernel.read_guest_file(b'/tests/forkexit')
    cache = kernel.vfs.cache

    def in_use():
        return kernel.frames.total - kernel.frames.free_count - cache.stats()['cached']

    before = in_use()
    p = kernel.spawn(data, [b'forkexit'], [])
    kernel.run()
    assert p.exit_status == 0, out.decode()
    for pid in [pid for pid in kernel.procs if pid not in kernel.daemons]:   # zombies hold no frames
        del kernel.procs[pid]                       # (the object server stays)
    assert in_use() == before


def session(disk, script: bytes, trace=None):
    """Boot /sbin/init with `script` typed on the console; returns (output, init status)."""
    from kernel.cli import TYPING_DELAY_NS, TYPING_PATIENCE_NS
    kernel, out, log = boot(disk=disk, tty=True)
    if trace is not None:
        kernel.trace.subscribe(lambda e: trace.append((e.kind, e.time, e.pid, e.args.get('name'),
                                                       e.args.get('result'))))
    init = kernel.spawn(kernel.read_guest_file(b'/sbin/init'), [b'/sbin/init'], [b'PATH=/bin'])
    kernel.init_ends_machine = True
    kernel.machine.console.type_script(kernel.clock, script, TYPING_DELAY_NS, TYPING_PATIENCE_NS)
    kernel.run()
    kernel.shutdown()
    return out.decode(errors='replace').replace('\r\n', '\n'), init.exit_status


def test_shell_runs_commands_pipelines_and_redirections(disk):
    text, status = session(disk, b'echo hello world\nls /etc\necho one > /f; echo two >> /f; cat < /f\n'
                                 b'false; echo status $?\nexit\n')
    assert status == 0
    assert 'hello world\n' in text
    assert 'motd\n' in text
    assert 'one\ntwo\n' in text
    assert 'status 1\n' in text
    assert 'the shell exited; syncing and shutting down' in text
    check = fsck(disk)
    assert check.returncode == 0, check.stdout


def test_pipeline_moves_several_mib(disk):
    text, status = session(disk, b'yes 200000 0123456789abcdefghijklmnopqrstuvwxyz > /big\n'
                                 b'cat /big | wc -c\nexit\n')
    assert status == 0
    assert '7400000' in text.split('cat /big | wc -c')[1], text


def test_ctrl_c_interrupts_the_running_program_not_the_shell(disk):
    text, status = session(disk, b'/tests/spin 3000000000\n\x03echo after: $?\nexit\n')
    assert status == 0
    assert '^C' in text
    assert 'after: 130' in text
    assert 'spin' not in text.split('^C')[1].split('after')[0].replace('echo', '')


def test_background_job_and_wait_for_it(disk):
    text, status = session(disk, b'/tests/spin 1000000 &\necho started\nexit\n')
    assert status == 0
    assert 'started' in text


def test_same_session_twice_gives_the_same_trace(disk, tmp_path):
    from conftest import copy_image
    script = b'echo a | cat\nls /bin | wc -l\n/tests/spin 5000000\nexit\n'
    other = copy_image(disk, tmp_path / 'other.img')
    t1, t2 = [], []
    out1, _ = session(disk, script, t1)
    out2, _ = session(other, script, t2)
    assert out1 == out2
    assert len(t1) > 100
    assert t1 == t2


def test_ps_lists_processes_from_proc(disk):
    text, status = session(disk, b'ps\ncat /proc/1/stat\nexit\n')
    assert status == 0
    assert '    1     0 S init' in text and ' sh\n' in text and ' R ps' in text
    assert '1 (init) S 0 1 1' in text


def test_when_init_exits_the_processes_left_behind_are_killed_and_the_machine_stops(disk):
    # A detached child sleeps forever in a session of its own (no Ctrl-C reaches it); the
    # shell exits, init syncs and exits: the machine must stop rather than run it forever.
    kernel, out, log = boot(disk=disk, tty=True)
    kernel.init_ends_machine = True
    init = kernel.spawn(kernel.read_guest_file(b'/sbin/init'), [b'/sbin/init'], [b'PATH=/bin'])
    kernel.machine.console.type_script(kernel.clock, b'/tests/detach_sleeper\nexit\n', 10**6, 10**8)

    def still_running():        # (the machine idles on to this event, so only fail if it runs)
        alive = [q.name for q in kernel.procs.values()
                 if q.state.value != 'zombie' and q.pid not in kernel.daemons]   # (objsrv serves on)
        assert not alive, f'an hour after the shell exited, still running: {alive}'
    kernel.clock.schedule(3600 * 10**9, still_running)
    kernel.run()
    kernel.shutdown()
    assert 'left pid' in out.decode() and init.exit_status == 0
    assert all(q.state.value == 'zombie' for q in kernel.procs.values() if q.pid not in kernel.daemons)


def test_a_child_killed_before_its_new_program_runs_leaves_no_image_behind(disk):
    # The child's execve ends its time slice and the parent runs before it does, killing
    # it.  The address space execve built was not yet the child's: it is freed with it.
    from kernel.check import find_problems
    r = run_on_disk(disk, '/tests/exec_killed')
    assert 'FAIL' not in r.text and '(exec_killed) end' in r.text, r.text
    assert 'the child ran the new program' not in r.text
    assert find_problems(r.kernel) == []
