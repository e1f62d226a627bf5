"""The tracing and debugging options of `ukern run`, and the `ukern trace` command.

  ukern run --strace PROGRAM              system calls on stderr, as strace prints them
  ukern run --faults PROGRAM              page faults on stderr, with the page-table walk
  ukern run --trace out.json PROGRAM      a timeline for ui.perfetto.dev / chrome://tracing
  ukern run --gdb 1234 PROGRAM            stop before the first instruction, wait for gdb
  ukern trace summary out.json            what a trace contains, in text

cli.py calls add_trace_options(run_parser), then `closer = attach(kernel, args)` after
creating the kernel and `closer()` when the run ends (in a finally).
"""

import argparse
import sys
from typing import Callable


def add_trace_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group('tracing and debugging')
    g.add_argument('--trace', metavar='FILE.json',
                   help='write a Chrome/Perfetto trace of the run (open it at ui.perfetto.dev)')
    g.add_argument('--strace', action='store_true', help='print system calls on stderr, as strace does')
    g.add_argument('--faults', action='store_true', help='print page faults on stderr with the page-table walk')
    g.add_argument('--gdb', metavar='PORT', type=int,
                   help='stop before the first instruction and serve gdb on 127.0.0.1:PORT')


def attach(kernel, args, stream=None) -> Callable[[], None]:
    """Subscribe the listeners chosen by `args`; returns the function to call at shutdown."""
    stream = stream or sys.stderr
    closers = []
    if getattr(args, 'strace', False):
        from .strace import Strace
        kernel.trace.subscribe(Strace(kernel, stream))
    if getattr(args, 'faults', False):
        from .faultview import FaultView
        kernel.trace.subscribe(FaultView(kernel, stream))
    if getattr(args, 'trace', None):
        from .chrome import ChromeTrace
        chrome = ChromeTrace(kernel, args.trace)
        kernel.trace.subscribe(chrome)
        closers.append(chrome.close)
    if getattr(args, 'gdb', None) is not None:
        from .gdbstub import GdbStub
        stub = GdbStub(kernel, args.gdb)
        kernel.debugger = stub
        kernel.log(f'ukern: waiting for gdb on 127.0.0.1:{stub.port} '
                   f'(gdb PROGRAM -ex "target remote :{stub.port}")')
        closers.append(stub.close)

    def close() -> None:
        for c in closers:
            try:
                c()
            except Exception as e:
                print(f'ukern: {e}', file=sys.stderr)
    return close


def trace_main(argv: list[str]) -> int:
    """`ukern trace summary FILE.json`"""
    parser = argparse.ArgumentParser(prog='ukern trace', description='read traces written by ukern run --trace')
    sub = parser.add_subparsers(dest='action', required=True)
    s = sub.add_parser('summary', help='counts per event kind and process, top faulting instructions, '
                                       'slowest system calls')
    s.add_argument('file')
    args = parser.parse_args(argv)
    from .summary import summarize
    try:
        sys.stdout.write(summarize(args.file))
    except (OSError, ValueError) as e:
        print(f'ukern trace: {args.file}: {e}', file=sys.stderr)
        return 1
    return 0
