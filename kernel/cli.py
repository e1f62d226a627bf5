"""The `ukern` command: run a program, later boot a disk, make disks, read traces.

  ukern run [--mem SIZE] [--quantum N] PROGRAM [ARGS...]
      runs a host ELF file as pid 1 with this terminal as its console, and exits with the
      program's exit status (128 + signal when it was killed, as a shell reports it).
"""

import argparse
import os
import sys

from emu.machine import Machine
from .kernel import Kernel, DEFAULT_QUANTUM
from .proc.elf import ExecError

SIZE_SUFFIXES = {'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30}


def parse_size(text: str) -> int:
    text = text.strip().upper().removesuffix('B').removesuffix('I')
    mult = SIZE_SUFFIXES.get(text[-1:], 1)
    number = text[:-1] if text[-1:] in SIZE_SUFFIXES else text
    try:
        return int(float(number) * mult)
    except ValueError:
        raise argparse.ArgumentTypeError(f'not a size: {text!r} (try 128M)') from None


def _add_machine_options(p: argparse.ArgumentParser) -> None:
    p.add_argument('--mem', type=parse_size, default=128 << 20, help='guest RAM (default 128M)')
    p.add_argument('--quantum', type=int, default=DEFAULT_QUANTUM,
                   help='instructions per time slice (default %(default)s)')


def wait_status_to_exit_code(status: int) -> int:
    """What a shell reports: the exit code, or 128 + the signal that killed it."""
    if status & 0x7F:
        return 128 + (status & 0x7F)
    return (status >> 8) & 0xFF


def cmd_run(args) -> int:
    try:
        with open(args.program, 'rb') as f:
            data = f.read()
    except OSError as e:
        print(f'ukern: {args.program}: {e.strerror}', file=sys.stderr)
        return 127
    machine = Machine(args.mem, console_source=sys.stdin.buffer)
    kernel = Kernel(machine, quantum=args.quantum, console_is_tty=sys.stdout.isatty())
    argv = [os.fsencode(args.program)] + [os.fsencode(a) for a in args.args]
    envp = [b'PATH=/bin', b'HOME=/', b'TERM=' + os.environ.get('TERM', 'dumb').encode()]
    try:
        init = kernel.spawn(data, argv, envp)
    except ExecError as e:
        print(f'ukern: cannot run {e}', file=sys.stderr)
        return 126
    kernel.run()
    return wait_status_to_exit_code(init.exit_status)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='ukern', description='a teaching microkernel on an emulated x86-64')
    sub = parser.add_subparsers(dest='command', required=True)
    run = sub.add_parser('run', help='run a static x86-64 ELF program as pid 1')
    _add_machine_options(run)
    run.add_argument('program')
    run.add_argument('args', nargs=argparse.REMAINDER)
    run.set_defaults(func=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == '__main__':
    sys.exit(main())
