"""The `ukern` command: run a program, later boot a disk, make disks, read traces.

  ukern run [--mem SIZE] [--quantum N] [--disk IMAGE | --root DIR [--rw]] PROGRAM [ARGS...]
      runs an ELF file as pid 1 with this terminal as its console, and exits with the
      program's exit status (128 + signal when it was killed, as a shell reports it).
      If every process is left blocked forever it says so and exits with 125.
      With --disk, an absolute PROGRAM path is looked up in the guest's file system.
      Without, the guest sees the host's tree (or DIR) read-only at / (writable with
      --rw) and starts in this directory; PROGRAM is found as the guest would find it.
  ukern mkdisk IMAGE --root DIR [--size SIZE]
      makes a disk image whose partition 1 is an ext2 copy of DIR.
"""

import argparse
import errno
import os
import sys

from emu.machine import Machine
from .kernel import Kernel, DEFAULT_QUANTUM
from .proc.elf import ExecError
from .trace.options import add_trace_options, attach, trace_main
from .fs.fserror import FsError
from .tools import mkdisk
from .tools.mkdisk import parse_size
from .mm.policy import POLICIES
from .mm.swap import SWAP_TYPE
from .fs.mount import BootError
from .check import InvariantError
from emu.disk_image import DiskImage
from emu.powerfail import PowerFailed

def _add_machine_options(p: argparse.ArgumentParser) -> None:
    p.add_argument('--mem', type=parse_size, default=128 << 20, help='guest RAM (default 128M)')
    from .cmdline import int_between
    p.add_argument('--quantum', type=int_between(1, 1 << 40), default=DEFAULT_QUANTUM,
                   help='instructions per time slice (default %(default)s)')
    p.add_argument('--disk', help='disk image (made by `ukern mkdisk`): partition 1 is mounted at /')
    p.add_argument('--swap', type=parse_size, default=None, help='size of the swap file when the disk '
                   'has no swap partition (default: twice --mem; 0 for none)')
    p.add_argument('--policy', default='clock', choices=sorted(POLICIES),
                   help='page-replacement policy (default %(default)s)')
    p.add_argument('--stats', action='store_true', help='print the memory counters at the end')
    p.add_argument('--no-fault-around', dest='fault_around', action='store_false',
                   help='map one page per page fault (default: a sequential stream of faults '
                   'maps a window of pages at once while memory allows)')
    p.add_argument('--no-huge-pages', dest='huge_pages', action='store_false',
                   help='map large anonymous mappings with 4 KiB pages only (default: a first touch '
                   'in an aligned 2 MiB block maps it as one 2 MiB page while memory allows)')
    p.add_argument('--check', action='store_true', help='check the kernel\'s books (frames, swap '
                   'slots, queues) at every context switch; a finding ends the run (status 1)')
    p.add_argument('--root', metavar='DIR', help='without --disk: the host directory the guest '
                   'sees as / (default: the host\'s /)')
    p.add_argument('--rw', action='store_true', help='without --disk: let the guest change the '
                   'host files it sees (default: read-only, writes fail with EROFS)')
    p.add_argument('--checkpoint-ms', metavar='MS', type=int_between(1, 1 << 40), default=None,
                   help='take a checkpoint of the object store every MS milliseconds of virtual '
                   'time while objects change (default: only at sync, when the log fills, and '
                   'at shutdown)')
    p.add_argument('--power-fail', metavar='N', type=int_between(1, 1 << 62), default=None,
                   help='cut the power when the disks together start their Nth transfer: the '
                   'disks keep what a real one would, nothing is written back (crash testing)')


DEADLOCK_EXIT = 125        # `ukern run`: every process was left blocked forever
POWER_FAIL_EXIT = 3        # --power-fail N: the power failed (the disks hold what they hold)


def wait_status_to_exit_code(status: int) -> int:
    """What a shell reports: the exit code, or 128 + the signal that killed it."""
    if status & 0x7F:
        return 128 + (status & 0x7F)
    return (status >> 8) & 0xFF


def machine_disks(args) -> tuple[list, DiskImage | None]:
    """The first controller's disks, and the object store's disk for the second.
    Port 0: the boot disk (if any, without its object-store partition); port 1: a temporary
    swap file, unless --swap 0 or the boot disk has its own swap partition (a temporary file,
    unlinked at once).  The store's disk is the image's partition 2 (mkdisk.attach_disks)."""
    boot, store = mkdisk.attach_disks(args.disk) if args.disk else (None, None)
    size = 2 * args.mem if args.swap is None else args.swap
    if size <= 0 or (args.disk and SWAP_TYPE in (kind for _, _, kind in mkdisk.partition_offsets(args.disk))):
        return ([boot] if boot else []), store
    import tempfile
    fd, name = tempfile.mkstemp(prefix='ukern-swap-', suffix='.img')
    os.close(fd)
    swap = DiskImage.create(name, size // 512)
    # The open image keeps the file: unlinked now, the host frees it when the run ends,
    # however it ends (deleting it at exit depended on the interpreter finalizing our
    # objects, which it does not for the command, whose objects kernel/__main__.py freezes).
    os.unlink(name)
    return [boot, swap], store


def boot_kernel(args, tty: bool, typed: bool | None = None, error_sink=None, **console) -> Kernel:
    """The machine and kernel the options describe: disks attached, root mounted, swap on.
    tty: the console's output is a terminal; typed: its input is (default: the same);
    error_sink: where the first program's stderr goes when not to the console."""
    if getattr(args, 'record', None):          # the disk as it is before the kernel touches it
        from .trace.record import disk_digest
        args.disk_sha256 = disk_digest(args.disk)
    disks, store_disk = machine_disks(args)
    machine = Machine(args.mem, disks=disks or None, store_disk=store_disk,
                      power_fail=getattr(args, 'power_fail', None), **console)
    kernel = Kernel(machine, quantum=args.quantum, console_is_tty=tty, policy=args.policy,
                    console_input_typed=typed, error_sink=error_sink)
    kernel.fault_around = args.fault_around
    kernel.huge_pages = getattr(args, 'huge_pages', True)
    kernel.vfs.page_programs = not getattr(args, 'names', names_wanted(args))
    kernel.check_books = getattr(args, 'check', False)
    if args.disk:
        kernel.mount_root()
    else:
        kernel.mount_host(args.root or '/', host_of(args)['cwd'], writable=args.rw)
    if getattr(args, 'record', None):          # the host files the run reads, by their hash
        from .trace.record import HostFiles
        args.host_files = HostFiles(kernel.clock)
        if not args.disk:
            kernel.vfs.root.fs.on_read_open = args.host_files.opened
    kernel.enable_swap()
    if kernel.objects is not None and getattr(args, 'checkpoint_ms', None):
        kernel.objects.checkpoints.period_ns = args.checkpoint_ms * 1_000_000
    return kernel


def names_wanted(args) -> bool:
    """Do the run's views name sections and symbols (the fault lines, the Chrome trace,
    gdb)?  They read them from the whole ELF file, so exec then reads programs whole, as it
    does from the host's tree, instead of paging them in.  (A replay execs as its recording
    did, whatever it traces: `args.names` is then the recorded run's answer.)"""
    return (any(getattr(args, name, None) for name in ('faults', 'plot', 'trace'))
            or getattr(args, 'gdb', None) is not None)


def load_program(kernel: Kernel, program: str, disk: bool, note=None) -> tuple[bytes, bytes]:
    """With a disk, an absolute path names a file in the guest's file system and a
    relative one a file on the host.  Without a disk the guest's view of the host (its
    root, its working directory) finds it, or, failing that, the host itself (a program
    outside --root).  Returns (content, the path /proc/PID/exe shows).  note(path, fd):
    told of a program read from the host itself (a recording keeps its hash)."""
    if not disk or program.startswith('/'):
        try:
            return kernel.read_guest_program(os.fsencode(program))
        except FsError:
            if disk or not os.path.isfile(program):
                raise
    with open(program, 'rb') as f:
        if note is not None:
            note(os.fsencode(os.path.abspath(program)), f.fileno())
        return f.read(), os.fsencode(os.path.abspath(program))


def check_root_options(args) -> str | None:
    """What is wrong with --root and --rw (one line), or None."""
    if args.disk and (args.root or args.rw):
        return '--root and --rw show the host\'s files; they do not go with --disk'
    if args.root and not os.path.isdir(args.root):
        return f'--root {args.root}: not a directory'
    return None


def host_of(args) -> dict:
    """The host as the run sees it: terminals, stderr apart or not, the environment and
    the working directory; a replay's are the recording's (trace/record.py)."""
    if getattr(args, 'replay', None) is not None:
        return args.replay.options['host']
    return {'stdin_tty': sys.stdin.isatty(), 'stdout_tty': sys.stdout.isatty(),
            'stderr_apart': separate_stderr() is not None,
            'env': [os.fsdecode(name + b'=' + value) for name, value in os.environb.items()],
            'cwd': os.getcwd()}


def guest_environment(args) -> list[bytes]:
    """What the first program's environment holds.  On the host's tree (no --disk) it is
    the host's environment, as if the program were started from this shell (qemu-user does
    the same); from a disk, the guest's own small one."""
    if getattr(args, 'replay', None) is not None and not args.disk:
        return [os.fsencode(e) for e in args.replay.options['host']['env']]
    if args.disk:
        return [b'PATH=/bin', b'HOME=/', b'TERM=' + os.environ.get('TERM', 'dumb').encode()]
    return [name + b'=' + value for name, value in os.environb.items()]


def separate_stderr():
    """Our stderr, as a sink for the guest's, if it is not where our stdout goes (a file
    or pipe of its own); None when both reach the same place (a terminal, `2>&1`): then
    the guest's stderr is the console, as its stdout is, and the two stay in order."""
    try:
        out, err = os.fstat(sys.stdout.fileno()), os.fstat(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    if (out.st_dev, out.st_ino) == (err.st_dev, err.st_ino):
        return None
    return _stderr_sink()


def replaying(args) -> bool:
    return getattr(args, 'replay', None) is not None


def _stderr_sink():
    def write(data: bytes) -> None:
        sys.stderr.buffer.write(data)
        sys.stderr.buffer.flush()
    return write


def boot_error_text(e: Exception) -> str:
    """An OSError as 'PATH: reason' rather than Python's '[Errno 2] ...: PATH'."""
    if isinstance(e, OSError) and e.strerror:
        return f'{e.filename}: {e.strerror}' if e.filename else e.strerror
    return str(e)


def cmd_run(args) -> int:
    problem = check_root_options(args)
    if problem:
        print(f'ukern: {problem}', file=sys.stderr)
        return 2
    host = host_of(args)
    try:
        # Piped or redirected input is data, not keys: no line discipline for it.
        kernel = boot_kernel(args, host['stdout_tty'], host['stdin_tty'],
                             error_sink=_stderr_sink() if host['stderr_apart'] else None,
                             console_source=None if replaying(args) else sys.stdin.buffer)
    except (OSError, FsError, ValueError, BootError) as e:
        print(f'ukern: cannot boot: {boot_error_text(e)}', file=sys.stderr)
        return 1
    try:
        host_files = getattr(args, 'host_files', None)
        data, exe = load_program(kernel, args.program, bool(args.disk),
                                 note=host_files.opened if host_files is not None else None)
    except OSError as e:
        print(f'ukern: {args.program}: {e.strerror}', file=sys.stderr)
        return 127
    except FsError as e:
        where = ' (in the guest file system)' if args.disk else ''
        print(f'ukern: {args.program}: {os.strerror(e.errno)}{where}', file=sys.stderr)
        return 127
    argv = [os.fsencode(args.program)] + [os.fsencode(a) for a in args.args]
    try:
        init = kernel.spawn(data, argv, guest_environment(args), exe=exe)
    except ExecError as e:
        print(f'ukern: cannot run {e}', file=sys.stderr)
        return 126
    run_to_the_end(kernel, args, interactive=host['stdin_tty'])
    if kernel.deadlocked:
        return DEADLOCK_EXIT
    return wait_status_to_exit_code(init.exit_status)


def run_to_the_end(kernel: Kernel, args, interactive: bool) -> None:
    """Run until no process is left, tracing as asked, the terminal raw while a person
    types; then write everything back to the disk."""
    from .cmdline import CommandError
    from .hostint import HostInterrupts
    from .trace.session import open_gate
    kernel.interactive = interactive
    gate, close_gate = open_gate(kernel, args, interactive)
    close_trace = attach(kernel, args)
    unbalanced, power_failed = None, False
    with _raw_terminal(interactive and not replaying(args)), HostInterrupts(kernel, gate) as host:
        try:
            kernel.run()
        except InvariantError as e:
            unbalanced = e
            kernel.check_books = False       # (shutdown runs the loop again: say it once)
        except PowerFailed:
            power_failed = True              # no write-back: the disks keep what they have
            raise
        finally:
            close_trace()
            close_gate()
            if not power_failed:
                kernel.shutdown()
    if unbalanced is not None:
        first, n = unbalanced.problems[0], len(unbalanced.problems)
        more = f' (and {n - 1} more)' if n > 1 else ''
        raise CommandError(f'--check: the books do not balance: {first}{more}', status=1)
    if getattr(gate, 'diverged', None):
        raise CommandError(gate.diverged, status=1)
    if getattr(gate, 'interrupted', False):
        raise CommandError('replay interrupted', status=130)
    if gate.host_stop if gate is not None else host.stopped:
        raise CommandError('stopped by a second Ctrl-C (the guest did not end on SIGINT)', status=130)
    if args.stats:
        print_stats(kernel)
    if args.power_fail is not None:
        print(f'ukern: power never failed: the disks started {kernel.machine.power.transfers} '
              'transfers', file=sys.stderr)


def print_stats(kernel: Kernel) -> None:
    stats = dict(kernel.vmstat, policy=kernel.reclaim.policy_name,
                 frames_total=kernel.frames.total, frames_free=kernel.frames.free_count)
    width = max(len(k) for k in stats)
    print('ukern: memory counters', file=sys.stderr)
    for name, value in sorted(stats.items()):
        print(f'  {name:<{width}}  {value}', file=sys.stderr)


TYPING_DELAY_NS = 1_000_000         # --input: a line is typed 1 ms after the guest asks for one,
TYPING_PATIENCE_NS = 100_000_000    # or after 100 ms if nobody asks (so Ctrl-C reaches busy programs)


def cmd_boot(args) -> int:
    """Boot from the disk to /sbin/init: the console is this terminal (raw mode), or the
    keys of an --input file typed at a steady virtual pace."""
    if not args.disk:
        print('ukern boot: --disk IMAGE is required (make one with `ukern mkdisk`)', file=sys.stderr)
        return 2
    problem = check_root_options(args)
    if problem:
        print(f'ukern boot: {problem}', file=sys.stderr)
        return 2
    script = input_script(args)
    host = host_of(args)
    interactive = script is None and host['stdin_tty']
    sink = _terminal_sink() if script is not None and not host['stdout_tty'] else None
    try:
        kernel = boot_kernel(args, script is not None or host['stdin_tty'], console_sink=sink,
                             console_source=None if script is not None or replaying(args) else sys.stdin.buffer)
        data = read_init(kernel, args)
        init = kernel.spawn(data, [os.fsencode(args.init)], [b'PATH=/bin', b'HOME=/', b'TERM=vt100'])
        kernel.init_ends_machine = True
    except (OSError, FsError, ExecError, ValueError, BootError) as e:
        print(f'ukern: cannot boot: {boot_error_text(e)}', file=sys.stderr)
        return 1
    if script is not None:
        kernel.machine.console.type_script(kernel.clock, script, TYPING_DELAY_NS, TYPING_PATIENCE_NS)
    run_to_the_end(kernel, args, interactive)
    return wait_status_to_exit_code(init.exit_status)


def input_script(args) -> bytes | None:
    """The keys of --input, or of the --input file a recording was made with."""
    if replaying(args):
        from .trace.record import decode_script
        return decode_script(args.replay.options.get('input'))
    return read_input_script(args.input) if args.input else None


def read_input_script(path: str) -> bytes:
    from .cmdline import CommandError
    try:
        with open(path, 'rb') as f:
            return f.read()
    except OSError as e:
        raise CommandError(f'--input {path}: {e.strerror}') from None


def read_init(kernel: Kernel, args) -> bytes:
    """The first program's file, or a BootError that says where it was looked for."""
    try:
        return kernel.read_guest_file(os.fsencode(args.init))
    except FsError as e:
        why = 'not found' if e.errno == errno.ENOENT else os.strerror(e.errno)
        raise BootError(f'{args.init} {why} on partition 1 of {args.disk}') from None


def _terminal_sink():
    """The host side of a terminal for a transcript on a pipe or file: CR LF becomes LF."""
    def sink(data: bytes) -> None:
        if data != b'\r':
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
    return sink


class _raw_terminal:
    """The host terminal in raw mode while the guest owns it (keys go to ukern's line
    discipline, Ctrl-C included); restored on the way out."""
    def __init__(self, on: bool):
        self.on = on

    def __enter__(self):
        if self.on:
            import termios
            import tty
            self.saved = termios.tcgetattr(sys.stdin)
            tty.setraw(sys.stdin)

    def __exit__(self, *exc):
        if self.on:
            import termios
            termios.tcsetattr(sys.stdin, termios.TCSADRAIN, self.saved)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line; with `only`, just that command's parser (a run need not build, nor
    import what builds, the seven others: about a tenth of `ukern run hello`)."""
    from .cmdline import Parser
    parser = Parser(prog='ukern', description='a teaching microkernel on an emulated x86-64')
    sub = parser.add_subparsers(dest='command', required=True)
    for name, add in COMMANDS.items():
        if only is None or only == name:
            add(sub)
    return parser


def _add_run(sub) -> None:
    run = sub.add_parser('run', help='run a static x86-64 ELF program as pid 1')
    _add_machine_options(run)
    run.add_argument('program', help='the ELF file to run: a host path, or with --disk an absolute '
                     'path in the guest\'s file system')
    run.add_argument('args', nargs=argparse.REMAINDER, help='its arguments (argv[1:])').required = False
    add_trace_options(run)
    run.set_defaults(func=cmd_run)


def _add_boot(sub) -> None:
    boot = sub.add_parser('boot', help='boot /sbin/init from a disk image, with this terminal as the console')
    _add_machine_options(boot)
    boot.add_argument('--input', help='type the keys of this file instead of reading the terminal')
    boot.add_argument('--init', default='/sbin/init', help='the first program (default %(default)s)')
    add_trace_options(boot)
    boot.set_defaults(func=cmd_boot)


def _add_delegated(name: str, help: str):
    """A command whose own main parses the rest of the line (DELEGATED runs it directly;
    this parser only lists it in `ukern --help`)."""
    def add(sub) -> None:
        p = sub.add_parser(name, help=help, add_help=False)
        p.add_argument('rest', nargs=argparse.REMAINDER)
        p.set_defaults(func=lambda args: DELEGATED[name](args.rest))
    return add


def _add_replay(sub) -> None:
    from .trace.session import add_replay_command
    add_replay_command(sub)


def _add_lab(sub) -> None:
    lab = sub.add_parser('lab', help='course labs: ukern lab start NAME | stop | status | grade [NAME] | run ...')
    lab.add_argument('action', choices=['start', 'stop', 'status', 'list', 'grade', 'run'])
    lab.add_argument('rest', nargs=argparse.REMAINDER,
                     help='start: NAME [--force]; grade: [NAME...] [--reference]; '
                          'run: [--pdb] a ukern command').required = False
    lab.set_defaults(func=cmd_lab)


COMMANDS = {
    'run': _add_run,
    'boot': _add_boot,
    'mkdisk': _add_delegated('mkdisk', 'make a disk image: MBR, ext2 from a directory, object store'),
    'objstore': _add_delegated('objstore', 'look at or check the object store of a disk image '
                               '(ukern objstore list|check IMAGE)'),
    'replay': _add_replay,
    'trace': _add_delegated('trace', 'read a trace written by run --trace (ukern trace summary FILE.json)'),
    'lab': _add_lab,
}


def _objstore_main(argv: list[str]) -> int:
    from .tools import objstore          # here: a run never needs the store's tool
    return objstore.main(argv)


def cmd_lab(args) -> int:
    """The course labs (labs/README.md): put a lab's starter code in its work area and
    make the kernel use it, go back to ukern's own parts, grade, or run with the lab active."""
    import subprocess
    from . import labs
    try:
        if args.action == 'list' or (args.action == 'start' and not args.rest):
            which = labs.active()
            for lab in labs.LABS.values():
                mark = '*' if which and which[0] == lab.name else ' '
                print(f'{mark} {lab.name:12} {lab.title}')
            return 0 if args.action == 'list' else 2
        if args.action == 'start':
            name, force = args.rest[0], '--force' in args.rest[1:]
            files = labs.start(name, force=force)
            print(f'lab {name} started: the kernel now uses your code in '
                  f'{labs.get(name).student_dir.relative_to(labs.ROOT)}/')
            for f in files:
                print(f'  edit {f.relative_to(labs.ROOT)}')
            print(f'handout: labs/{name}/README.md; grade: make grade LAB={name}; '
                  f'back to the reference: ukern lab stop')
            return 0
        if args.action == 'stop':
            was = labs.stop()
            print(f'lab {was} stopped: the kernel uses its own parts (your files stay)' if was
                  else 'no lab was active')
            return 0
        if args.action == 'status':
            which = labs.active()
            print(f'active lab: {which[0]} ({which[1]})' if which else 'no lab is active')
            return 0
        if args.action == 'grade':
            return subprocess.call([sys.executable, str(labs.LABS_DIR / 'grade.py'), *args.rest])
        if args.action == 'run':                   # e.g. ukern lab run run build/userland/tests/fork_cow
            rest = args.rest
            if rest[:1] == ['--pdb']:              # pdb at a kernel bug: labs/gradepdb.py
                rest = rest[1:]
                sys.path.insert(0, str(labs.LABS_DIR))
                import gradepdb
                labs.on_kernel_bug = gradepdb.on_kernel_bug
            which = labs.activate_active()
            if which:
                print(f'ukern: lab {which} is active', file=sys.stderr)
            return main(rest)
    except labs.LabError as e:
        print(f'ukern lab: {e}', file=sys.stderr)
        return 2
    return 2


# Commands with parsers of their own (so that `ukern mkdisk --help` is theirs).
DELEGATED = {'mkdisk': lambda rest: mkdisk.main(rest), 'objstore': _objstore_main,
             'trace': lambda rest: trace_main(rest)}


def main(argv: list[str] | None = None) -> int:
    """`ukern ...`: a user's mistake ends in one line on stderr (status 2 for the command
    line, 1 for what went wrong later), never in a traceback."""
    argv = sys.argv[1:] if argv is None else list(argv)
    status = _command(argv)
    # gdb's reverse execution may have forked runners; only a run that loaded it has any
    # (importing it for every run would cost a tenth of `ukern run hello`).
    reverse = sys.modules.get(f'{__package__}.trace.reverse')
    return reverse.session_ended(status) if reverse is not None else status


def _command(argv: list[str]) -> int:
    from .cmdline import CommandError
    try:
        if argv and argv[0] in DELEGATED:
            return DELEGATED[argv[0]](argv[1:])
        args = build_parser(argv[0] if argv and argv[0] in COMMANDS else None).parse_args(argv)
        args.argv = argv
        return args.func(args)
    except CommandError as e:
        print(f'ukern: {e}', file=sys.stderr)
        return e.status
    except KeyboardInterrupt:
        print('ukern: interrupted', file=sys.stderr)
        return 130
    except PowerFailed as cut:
        print(f'ukern: {cut} (--power-fail)', file=sys.stderr)
        return POWER_FAIL_EXIT


if __name__ == '__main__':
    sys.exit(main())
