"""The tracing and debugging options of `ukern run`, and the `ukern trace` command.

  ukern run --strace PROGRAM              system calls on stderr, as strace prints them
  ukern run --strace=PID -e trace=%file -o calls.txt PROGRAM    one process, some calls, to a file
  ukern run --faults PROGRAM              page faults on stderr, one line each, and a summary
  ukern run --faults=walk PROGRAM         ... each with its page-table walk, before and after
  ukern run --faults=summary PROGRAM      ... only the summary, when the run ends
  ukern run --faults=2 PROGRAM            ... only those of process 2 (`--faults=walk,2`)
  ukern run -o out.txt --faults PROGRAM   the strace and fault text in out.txt, not on stderr
  ukern run --plot faults.png PROGRAM     the run's faults drawn over time (matplotlib)
  ukern run --trace out.json PROGRAM      a timeline for ui.perfetto.dev / chrome://tracing
  ukern run --gdb 1234 PROGRAM            stop before the first instruction, wait for gdb
  ukern trace summary out.json            what a trace contains, in text
  ukern trace plot out.json -o faults.png its faults over time against address

cli.py calls add_trace_options(run_parser), then `closer = attach(kernel, args)` after
creating the kernel and `closer()` when the run ends (in a finally).
"""

import argparse
import sys
from typing import Callable

from ..cmdline import CommandError, Parser, add_optional_value, int_between
from .faultopts import add_fault_options, attach_faults, plot_trace

ALL = 'all'
DEFAULT_EVERY = 20_000_000  # --snapshot-every: instructions between snapshots (reverse.py;
                            # bench/rewind.py measures the latency it buys)


def process_list(text: str) -> frozenset[int] | str:
    """--strace=PID[,PID...] (or the bare option: every process)."""
    if text == ALL:
        return ALL
    try:
        pids = frozenset(int(pid) for pid in text.split(','))
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not a process id (--strace=PID)') from None
    if min(pids) <= 0:
        raise argparse.ArgumentTypeError(f'{text!r}: process ids start at 1')
    return pids


def call_filter(text: str) -> tuple[set[str], bool]:
    """-e trace=open,read (strace's syntax): the calls, and whether to leave them out."""
    from .strace import FilterError, known_call_names, parse_trace_filter
    try:
        return parse_trace_filter(text, known_call_names())
    except FilterError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_trace_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group('tracing and debugging')
    g.add_argument('--trace', metavar='FILE.json',
                   help='write a Chrome/Perfetto trace of the run (open it at ui.perfetto.dev)')
    add_optional_value(g, '--strace', const=ALL, type=process_list, metavar='PID',
                       help='print system calls on stderr, as strace does; --strace=PID[,PID...]: '
                            'only those processes (and their threads)')
    g.add_argument('-e', dest='strace_filter', metavar='trace=CALLS', type=call_filter,
                   help='with --strace: only these calls, as strace -e: trace=open,read or '
                        'trace=%%file,%%process,%%memory,%%signal,%%desc,... or trace=!write')
    g.add_argument('-o', dest='trace_output', metavar='FILE',
                   help='write the --strace (and --faults) lines to FILE instead of stderr')
    add_fault_options(g)
    g.add_argument('--gdb', metavar='PORT', type=int_between(0, 65535),
                   help='stop before the first instruction and serve gdb on 127.0.0.1:PORT')
    g.add_argument('--snapshot-every', metavar='N', type=int_between(0, 1 << 40), default=DEFAULT_EVERY,
                   help='with --gdb: a snapshot every N instructions, for reverse-step and '
                        'reverse-continue (0: no reverse execution; default %(default)s)')
    from .session import add_record_options
    add_record_options(g)


def check_trace_options(args) -> str | None:
    """What is wrong with the combination of tracing options (one line), or None."""
    if getattr(args, 'strace_filter', None) is not None and not getattr(args, 'strace', None):
        return '-e goes with --strace (ukern run --strace -e trace=open,read PROGRAM)'
    if getattr(args, 'trace_output', None) and not (getattr(args, 'strace', None) or getattr(args, 'faults', None)):
        return '-o FILE goes with --strace or --faults'
    return None


def open_output(args, stream):
    """The stream for --strace and --faults lines: -o FILE, or `stream` (stderr)."""
    path = getattr(args, 'trace_output', None)
    if not path:
        return stream, None
    try:
        out = open(path, 'w')
    except OSError as e:
        raise CommandError(f'-o {path}: {e.strerror}') from None
    return out, out.close


def attach(kernel, args, stream=None) -> Callable[[], None]:
    """Subscribe the listeners chosen by `args`; returns the function to call at shutdown.
    Raises CommandError for what cannot be set up (-o into a missing directory, a gdb
    port in use)."""
    problem = check_trace_options(args)
    if problem:
        raise CommandError(problem, status=2)
    stream, close_output = open_output(args, stream or sys.stderr)
    closers = [close_output] if close_output else []
    if getattr(args, 'strace', None):
        from .strace import Strace
        pids = None if args.strace == ALL or args.strace is True else set(args.strace)
        calls, exclude = getattr(args, 'strace_filter', None) or (None, False)
        strace = Strace(kernel, stream, pids=pids, calls=calls, exclude=exclude)
        kernel.trace.subscribe(strace)
        strace.show_first_exec()
    close_faults = attach_faults(kernel, args, stream)
    if close_faults:
        closers.append(close_faults)          # (closed first: its summary goes out before -o's file closes)
    if getattr(args, 'trace', None):
        from .chrome import ChromeTrace
        chrome = ChromeTrace(kernel, args.trace)
        kernel.trace.subscribe(chrome)
        closers.append(chrome.close)
    if getattr(args, 'gdb', None) is not None:
        from .gdbstub import GdbStub
        try:
            stub = GdbStub(kernel, args.gdb, snapshot_every=getattr(args, 'snapshot_every', 0) or None)
        except OSError as e:
            raise CommandError(f'--gdb {args.gdb}: cannot listen on 127.0.0.1:{args.gdb}: {e.strerror}') from None
        kernel.debugger = stub
        kernel.log(f'ukern: waiting for gdb on 127.0.0.1:{stub.port} '
                   f'(gdb PROGRAM -ex "target remote :{stub.port}")')
        closers.append(stub.close)

    def close() -> None:
        for c in reversed(closers):
            try:
                c()
            except Exception as e:
                print(f'ukern: {e}', file=sys.stderr)
    return close


def trace_main(argv: list[str]) -> int:
    """`ukern trace summary FILE.json`, `ukern trace plot FILE.json -o faults.png`"""
    parser = Parser(prog='ukern trace', description='read traces written by ukern run --trace')
    sub = parser.add_subparsers(dest='action', required=True)
    s = sub.add_parser('summary', help='counts per event kind and process, page faults by kind, region, '
                                       'process and hottest (process, rip) site, slowest system calls')
    s.add_argument('file')
    p = sub.add_parser('plot', help='draw the page faults of a trace over virtual time against address')
    p.add_argument('file')
    p.add_argument('-o', '--output', metavar='FILE.png', default='faults.png',
                   help='the picture to write (default %(default)s)')
    args = parser.parse_args(argv)
    try:
        if args.action == 'plot':
            return plot_trace(args.file, args.output)
        from .summary import summarize
        sys.stdout.write(summarize(args.file))
    except (OSError, ValueError) as e:
        import json                    # (here: json is not needed to start a run)
        why = e.strerror if isinstance(e, OSError) and e.strerror else \
            'not a trace written by ukern run --trace' if isinstance(e, (json.JSONDecodeError, UnicodeError)) else e
        print(f'ukern trace: {args.file}: {why}', file=sys.stderr)
        return 1
    return 0

