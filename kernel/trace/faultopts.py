"""The page-fault options of `ukern run` and `ukern boot`, and `ukern trace plot`.

  --faults, --faults=brief      one line per fault (faultbrief.py), then the summary
  --faults=walk                 each fault's page-table walk (faultview.py), then the summary
  --faults=summary              only the summary (faultstats.py), when the run ends
  --faults=2, --faults=walk,2   only the faults of process 2 (of its threads too)
  --plot faults.png             the run's faults over time against address (faultplot.py)

options.py adds these to its group of tracing options and calls attach_faults when a run
starts.  A bare `--faults` before the program means `--faults=brief`, and `--faults walk`
`--faults=walk`: the next word is taken only when it is a value of --faults (cmdline.py).
"""

import argparse
import sys

from ..cmdline import add_optional_value

FAULT_MODES = ('brief', 'walk', 'summary')
ONE_LINE = '-1'                    # `--faults=-1`: one line per fault, as `ls -1`: brief


def fault_spec(text: str) -> tuple[str, frozenset]:
    """`--faults=` value: a mode and/or process ids, comma-separated ('walk,2,3')."""
    mode, pids = 'brief', set()
    for word in text.split(','):
        if word in FAULT_MODES or word == ONE_LINE:
            mode = 'brief' if word == ONE_LINE else word
        elif word.isdigit() and int(word) > 0:
            pids.add(int(word))
        else:
            raise argparse.ArgumentTypeError(
                f'{word!r}: expected {", ".join(FAULT_MODES)} or a process id (--faults=walk,2)')
    return mode, frozenset(pids)


def plot_file(path: str) -> str:
    """--plot: refuse at once, not after the run, when matplotlib is missing."""
    from .faultplot import have_matplotlib, MISSING
    if not have_matplotlib():
        raise argparse.ArgumentTypeError(MISSING)
    return path


def is_fault_spec(word: str) -> bool:
    try:
        fault_spec(word)
    except argparse.ArgumentTypeError:
        return False
    return True


def add_fault_options(group) -> None:
    add_optional_value(group, '--faults', const='brief', type=fault_spec, joins=is_fault_spec,
                       metavar='brief|walk|summary|PID',
                       help='print page faults on stderr: one line each (brief, the default), with '
                            'the page-table walk (walk), or none (summary); each is followed by a '
                            'summary when the run ends.  PID: only that process\'s (--faults=walk,2)')
    group.add_argument('--plot', metavar='FILE.png', type=plot_file,
                       help='draw the run\'s page faults over virtual time against address '
                            '(needs matplotlib)')


def attach_faults(kernel, args, stream):
    """Subscribe the fault listener `args` asks for; returns its close (the summary and
    the picture, when the run ends), or None."""
    faults, plot = getattr(args, 'faults', None), getattr(args, 'plot', None)
    if not faults and not plot:
        return None
    from .faultbrief import FaultLog
    if isinstance(faults, str):        # the bare option's const (argparse does not parse it)
        faults = fault_spec(faults)
    mode, pids = faults or ('none', frozenset())        # ('none': only --plot)
    log = FaultLog(kernel, stream, mode, pids, plot)
    kernel.trace.subscribe(log)
    return log.close


def plot_trace(path: str, out: str) -> int:
    """`ukern trace plot FILE.json -o faults.png`"""
    from .faultplot import have_matplotlib, MISSING, plot_faults, points_of_trace
    if not have_matplotlib():
        print(f'ukern trace plot: {MISSING}', file=sys.stderr)
        return 1
    from .summary import load
    points = points_of_trace(load(path))
    plot_faults(points, out, path)
    print(f'{out}: {len(points)} page faults')
    return 0
