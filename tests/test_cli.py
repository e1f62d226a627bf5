"""The `ukern` command line as a user meets it: every subcommand answers --help, a mistake
is one line on stderr with status 2 (the command line) or 1 (found later) and never a
traceback, Ctrl-C stops a guest that only computes, and `exit` in the shell shuts down."""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, boot

UKERN = [sys.executable, '-m', 'kernel']
SPIN = 'build/userland/tests/busyloop'


def ukern(*args: str, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(UKERN + list(args), cwd=ROOT, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout, **kw)


@pytest.mark.parametrize('command', [['run'], ['boot'], ['mkdisk'], ['objstore'], ['objstore', 'list'],
                                     ['trace'], ['trace', 'summary'], ['lab'], []])
def test_every_subcommand_answers_help(command):
    r = ukern(*command, '--help')
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f'usage: {" ".join(["ukern"] + command[:1])}'), r.stdout
    assert r.stderr == ''


def test_run_help_describes_the_program_and_its_arguments():
    text = ukern('run', '--help').stdout
    assert 'the ELF file to run' in text and 'its arguments' in text
    assert '--strace' in text and '-e trace=CALLS' in text and '-o FILE' in text


@pytest.fixture(scope='module')
def bad_places(tmp_path_factory, userland):
    """What the bad invocations need: a disk without /sbin/init, a tree too big for a
    4 MiB disk, a port someone else listens on."""
    from kernel.tools.mkdisk import make_disk
    where = tmp_path_factory.mktemp('bad')
    (where / 'empty').mkdir()
    make_disk(where / 'noinit.img', where / 'empty', 8 << 20)
    (where / 'big').mkdir()
    (where / 'big' / 'blob').write_bytes(os.urandom(5 << 20))
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen()
    yield {'DIR': str(where), 'NOINIT': str(where / 'noinit.img'), 'BIG': str(where / 'big'),
           'PORT': str(listener.getsockname()[1])}
    listener.close()


# (arguments, exit status, what the one line on stderr contains); DIR, NOINIT, BIG and
# PORT are filled in from bad_places.
BAD_INVOCATIONS = [
    (['frobnicate'], 2, "ukern: argument command: invalid choice: 'frobnicate'"),
    (['run'], 2, 'ukern run: the following arguments are required: program'),
    (['run', '--swap', 'banana', SPIN], 2, "ukern run: argument --swap: bad size 'banana'"),
    (['run', '--mem', 'lots', SPIN], 2, "ukern run: argument --mem: bad size 'lots'"),
    (['run', '--mem', '100G', SPIN], 1, 'ukern: cannot boot: memory size must be between'),
    (['run', '--swap', '-1', SPIN], 2, "ukern run: argument --swap: bad size '-1'"),
    (['run', '--quantum', '0', SPIN], 2, "ukern run: argument --quantum: '0': expected a number from 1 to"),
    (['run', '--gdb', '99999', SPIN], 2, "ukern run: argument --gdb: '99999': expected a number from 0 to 65535"),
    (['run', '--policy', 'nope', SPIN], 2, "argument --policy: invalid choice: 'nope'"),
    (['run', '--root', 'DIR/nowhere', SPIN], 2, 'ukern: --root DIR/nowhere: not a directory'),
    (['run', '--gdb', 'PORT', SPIN], 1, 'ukern: --gdb PORT: cannot listen on 127.0.0.1:PORT: Address already in use'),
    (['run', '--strace=abc', SPIN], 2, "ukern run: argument --strace: 'abc' is not a process id"),
    (['run', '--strace', '-e', 'trace=opn', SPIN], 2, "argument -e: trace=opn: no system call named 'opn'"),
    (['run', '--strace', '-e', 'trace=%files', SPIN], 2, 'argument -e: trace=%files: no class %files'),
    (['run', '-e', 'trace=open', SPIN], 2, 'ukern: -e goes with --strace'),
    (['run', '-o', 'DIR/out.txt', SPIN], 2, 'ukern: -o FILE goes with --strace or --faults'),
    (['run', '--strace', '-o', 'DIR/no/out.txt', SPIN], 1, 'ukern: -o DIR/no/out.txt: No such file or directory'),
    (['run', 'DIR/no-such-program'], 127, 'ukern: DIR/no-such-program: No such file or directory'),
    (['boot'], 2, 'ukern boot: --disk IMAGE is required'),
    (['boot', '--disk', 'DIR/none.img'], 1, 'ukern: cannot boot: DIR/none.img: No such file or directory'),
    (['boot', '--disk', 'NOINIT'], 1, 'ukern: cannot boot: /sbin/init not found on partition 1 of NOINIT'),
    (['boot', '--disk', 'NOINIT', '--input', '/nonexistent'], 1, 'ukern: --input /nonexistent: No such file or directory'),
    (['mkdisk'], 2, 'ukern mkdisk: the following arguments are required: image'),
    (['mkdisk', 'DIR/huge.img', '--size', '100G'], 2, "ukern mkdisk: a disk of 100G is more than ukern's limit of 4G"),
    (['mkdisk', 'DIR/no/x.img'], 1, 'ukern mkdisk: DIR/no/x.img: No such file or directory'),
    (['mkdisk', 'DIR/x.img', '--size', 'banana'], 2, "ukern mkdisk: argument --size: bad size 'banana'"),
    (['mkdisk', 'DIR/full.img', '--root', 'BIG', '--size', '4M'], 1,
     'ukern mkdisk: BIG (5 MiB in 1 file) does not fit in an ext2 partition of 2 MiB: it needs about --size'),
    (['objstore'], 2, 'ukern objstore: the following arguments are required: action'),
    (['objstore', 'list', 'DIR/none.img'], 1, 'ukern objstore: DIR/none.img: No such file or directory'),
    (['trace'], 2, 'ukern trace: the following arguments are required: action'),
    (['trace', 'summary', 'DIR/none.json'], 1, 'ukern trace: DIR/none.json: No such file or directory'),
    (['trace', 'summary', 'NOINIT'], 1, 'ukern trace: NOINIT: not a trace written by ukern run --trace'),
    (['lab'], 2, 'ukern lab: the following arguments are required: action'),
]


@pytest.mark.parametrize('args, status, line', BAD_INVOCATIONS, ids=[' '.join(a) for a, _, _ in BAD_INVOCATIONS])
def test_a_bad_invocation_is_one_line_and_a_status(bad_places, args, status, line):
    def fill(text: str) -> str:
        for name, value in bad_places.items():
            text = text.replace(name, value)
        return text
    r = ukern(*[fill(a) for a in args])
    assert 'Traceback' not in r.stderr, r.stderr
    assert r.returncode == status, r.stderr
    assert len(r.stderr.splitlines()) == 1 and r.stderr.endswith('\n'), r.stderr
    assert fill(line) in r.stderr, r.stderr
    assert not any(Path(bad_places['DIR']).glob('huge.img*'))


def test_mkdisk_that_fails_leaves_no_image_and_the_size_it_suggests_works(bad_places, tmp_path):
    image = tmp_path / 'full.img'
    r = ukern('mkdisk', str(image), '--root', bad_places['BIG'], '--size', '4M')
    assert r.returncode == 1 and not image.exists(), r.stderr
    size = r.stderr.split('--size ')[-1].strip()
    r = ukern('mkdisk', str(image), '--root', bad_places['BIG'], '--size', size)
    assert r.returncode == 0, r.stderr
    assert image.stat().st_blocks * 512 < image.stat().st_size      # sparse


def start_guest(*args: str, stdin=subprocess.DEVNULL) -> subprocess.Popen:
    """`ukern run busyloop ARGS` with its input not a terminal, once it says it started."""
    p = subprocess.Popen(UKERN + ['run', SPIN, *args], cwd=ROOT, stdin=stdin,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.readline() == b'busyloop: started\n'
    return p


def finish(p: subprocess.Popen) -> tuple[int, bytes, str]:
    try:
        out, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        pytest.fail('ukern did not end after SIGINT')
    return p.returncode, out, err.decode()


def test_a_run_leaves_no_temporary_swap_file_behind(userland, tmp_path):
    """`ukern run` swaps to a temporary file twice the size of RAM; the command (which
    freezes its objects for the collector) must not leave it in the temporary directory."""
    r = ukern('run', '--mem', '16M', '--stats', 'build/userland/tests/cow_swap',
              env={**os.environ, 'TMPDIR': str(tmp_path)})
    assert r.returncode == 0, r.stderr
    assert 'pswpout' in r.stderr or 'pswpout' in r.stdout       # it did swap to the file
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_sigint_stops_a_guest_that_only_computes(userland):
    p = start_guest()
    p.send_signal(signal.SIGINT)
    status, out, err = finish(p)
    assert status == 128 + signal.SIGINT, err          # the guest died of SIGINT, as in a shell
    assert err == ''


def test_sigint_reaches_the_guests_handler(userland):
    p = start_guest('catch')
    p.send_signal(signal.SIGINT)
    status, out, err = finish(p)
    assert (status, out, err) == (3, b'busyloop: caught SIGINT\n', '')


def test_a_second_sigint_stops_a_guest_that_ignores_it(userland):
    import time
    p = start_guest('ignore')
    p.send_signal(signal.SIGINT)
    time.sleep(1)
    assert p.poll() is None                            # ignored: the guest computes on
    p.send_signal(signal.SIGINT)
    status, out, err = finish(p)
    assert status == 130
    assert err == 'ukern: stopped by a second Ctrl-C (the guest did not end on SIGINT)\n'


def test_ctrl_c_during_boot_with_piped_input(disk):
    """The shell ignores SIGINT (an interactive shell does); a second Ctrl-C stops the
    machine, and the disk it leaves is clean."""
    import time
    from conftest import fsck
    r, w = os.pipe()
    p = subprocess.Popen(UKERN + ['boot', '--disk', str(disk)], cwd=ROOT, stdin=r,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(r)
    assert p.stdout.readline().startswith(b'ukern init: pid 1')
    os.write(w, b'echo one > /f\necho written\n')
    assert p.stdout.readline() == b'written\n'
    for _ in range(2):
        p.send_signal(signal.SIGINT)
        time.sleep(0.5)
    status, out, err = finish(p)
    os.close(w)
    assert status == 130 and 'Traceback' not in err
    assert err.splitlines() == ['ukern: stopped by a second Ctrl-C (the guest did not end on SIGINT)']
    assert fsck(disk).returncode == 0


def session(disk, script: bytes):
    """Boot /sbin/init and type `script` (as `ukern boot --input`); (output, init's status)."""
    from kernel.cli import TYPING_DELAY_NS, TYPING_PATIENCE_NS
    kernel, out, log = boot(disk=disk, tty=True)
    init = kernel.spawn(kernel.read_guest_file(b'/sbin/init'), [b'/sbin/init'], [b'PATH=/bin'])
    kernel.machine.console.type_script(kernel.clock, script, TYPING_DELAY_NS, TYPING_PATIENCE_NS)
    kernel.run()
    kernel.shutdown()
    return out.decode(errors='replace').replace('\r\n', '\n'), init.exit_status


@pytest.mark.parametrize('script, code', [(b'exit\n', 0), (b'false\nexit\n', 1), (b'exit 3\n', 3),
                                          (b'no-such-command\n', 127)])
def test_exit_in_the_shell_shuts_the_machine_down_with_its_status(disk, script, code):
    text, status = session(disk, script)
    assert 'the shell exited; syncing and shutting down' in text, text
    assert 'restarting' not in text
    assert status == code << 8


def test_ukern_boot_exits_with_the_shells_status(disk, tmp_path):
    script = tmp_path / 'script.txt'
    script.write_bytes(b'echo hi\nexit 5\n')
    r = ukern('boot', '--disk', str(disk), '--input', str(script))
    assert r.returncode == 5, r.stderr
    assert 'hi\n' in r.stdout and 'shutting down' in r.stdout


def test_strace_takes_a_value_only_when_attached():
    """--strace PROGRAM must not read PROGRAM as the pid; the program's own arguments are
    never rewritten."""
    from kernel.cli import build_parser
    parse = build_parser().parse_args
    args = parse(['run', '--strace', 'prog', 'a', '--strace'])
    assert (args.strace, args.program, args.args) == ('all', 'prog', ['a', '--strace'])
    args = parse(['run', '--mem', '64M', '--strace=3,4', '-o', 'out.txt', 'prog'])
    assert (args.strace, args.trace_output, args.program, args.mem) == ({3, 4}, 'out.txt', 'prog', 64 << 20)
    args = parse(['run', '--strace', '-e', 'trace=open', 'prog', '--strace=5'])
    assert (args.strace, args.strace_filter, args.args) == ('all', ({'open'}, False), ['--strace=5'])
    assert parse(['run', 'prog']).strace is None


def test_ctrl_c_on_a_terminal_stops_a_guest_that_only_computes(userland):
    """On a terminal (raw mode) Ctrl-C is a key: the line discipline makes it SIGINT."""
    import pty
    import select
    import time
    pid, fd = pty.fork()
    if pid == 0:                                       # the child: ukern on the terminal
        try:
            os.chdir(ROOT)
            os.execv(sys.executable, UKERN + ['run', SPIN])
        finally:
            os._exit(127)
    seen, deadline = b'', time.time() + 60
    while b'busyloop: started' not in seen and time.time() < deadline:
        if select.select([fd], [], [], 1)[0]:
            seen += os.read(fd, 1024)
    os.write(fd, b'\x03')
    while time.time() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if select.select([fd], [], [], 0.2)[0]:
            try:
                seen += os.read(fd, 1024)
            except OSError:
                pass
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail(f'ukern did not end on Ctrl-C: {seen!r}')
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 128 + signal.SIGINT, seen
    assert b'Traceback' not in seen
