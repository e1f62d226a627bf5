"""Limits and exhaustion (issue #21), each as a user meets it at the shell or beside other
programs: a fork bomb hits EAGAIN and the shell still answers; a guest allocating without
end is killed by the out-of-memory killer with a report naming it, and the program beside
it runs to its end.  (EMFILE: tests/test_misc_calls.py, misc_rlimit_nofile; Ctrl-C on a
loop under the shell: tests/test_processes.py, test_ctrl_c_interrupts_the_running_program_not_the_shell.)"""

from conftest import boot, GuestRun


def session(disk, script: bytes):
    """Boot /sbin/init with `script` typed on the console (Ctrl-C reaches a busy foreground
    job after the typist's patience); returns (output, init's status, the kernel)."""
    from kernel.cli import TYPING_DELAY_NS, TYPING_PATIENCE_NS
    kernel, out, log = boot(disk=disk, tty=True)
    init = kernel.spawn(kernel.read_guest_file(b'/sbin/init'), [b'/sbin/init'], [b'PATH=/bin'])
    kernel.init_ends_machine = True
    kernel.machine.console.type_script(kernel.clock, script, TYPING_DELAY_NS, TYPING_PATIENCE_NS)
    kernel.run()
    kernel.shutdown()
    return out.decode(errors='replace').replace('\r\n', '\n'), init.exit_status, kernel


def test_a_fork_bomb_hits_eagain_and_the_shell_still_answers(disk):
    text, status, kernel = session(disk, b'/tests/forkbomb\n\x03echo alive: $?\nls /etc\nexit\n')
    assert 'forkbomb: fork failed with EAGAIN' in text, text[-2000:]
    after = text.split('^C', 1)[1]
    assert 'alive: 130' in after                 # the bomb's group died of SIGINT
    assert 'motd' in after                       # and the shell can fork again
    assert status == 0
    assert all(pid in kernel.daemons or p.state.value == 'zombie' for pid, p in kernel.procs.items())


def test_a_fork_bomb_that_leaves_the_session_cannot_hang_the_shell_or_shutdown(disk):
    """Its children call setsid, so Ctrl-C reaches only the first process: the others keep
    the process table full.  The shell still answers every line (fork fails with EAGAIN:
    it says so), and `exit` shuts the machine down, every process ended."""
    text, status, kernel = session(disk, b'/tests/forkbomb setsid\n\x03echo alive\nexit\n')
    assert 'forkbomb: fork failed with EAGAIN' in text
    after = text.split('^C', 1)[1]
    assert 'sh: fork: Resource temporarily unavailable' in after, after
    assert 'the shell exited; syncing and shutting down' in after
    assert status == 1 << 8                      # exit gives the failed echo's status, 1
    assert all(pid in kernel.daemons or p.state.value == 'zombie' for pid, p in kernel.procs.items())


def test_the_shells_built_in_kill_ends_a_fork_bomb_that_left_the_session(disk):
    """With the process table full no /bin/kill can start, but the shell's built-in kill
    can: `kill -9 -1` ends every process but init, the shell and the object server, and
    the shell forks again."""
    text, status, kernel = session(disk, b'/tests/forkbomb setsid\n\x03kill -9 -1\necho alive\nexit\n')
    after = text.split('kill -9 -1', 1)[1]
    assert 'alive' in after and 'Resource temporarily unavailable' not in after, after
    assert status == 0
    assert all(pid in kernel.daemons or p.state.value == 'zombie' for pid, p in kernel.procs.items())


def test_the_oom_killer_names_the_hog_and_the_program_beside_it_survives(userland):
    """No swap: memhog touches 48 MiB of a 24 MiB machine while fork_cow runs beside it.
    The killer chooses the largest process, says so naming it, and fork_cow ends well."""
    kernel, out, log = boot(mem=24 << 20)
    spawn = lambda name, *args: kernel.spawn((userland / 'tests' / name).read_bytes(),     # noqa: E731
                                             [name.encode(), *args], [])
    other = spawn('fork_cow')
    hog = spawn('memhog', b'48')
    kernel.run()
    assert hog.exit_status & 0x7F == 9
    assert any(f'out of memory: killed pid {hog.pid} (memhog)' in line for line in log), log
    r = GuestRun(other.exit_status, bytes(out), log, kernel)
    assert '(fork_cow) end' in r.text and 'FAIL' not in r.text, r.text
    assert other.exit_status == 0
    assert kernel.vmstat['oom_kill'] == 1
