"""The command-line side of recording and replaying (`--record FILE`, `ukern replay FILE`).

  ukern boot --disk build/disk.img --record session.rec     a person types; keep it all
  ukern replay session.rec --disk before.img                the same session again
  ukern replay session.rec --disk before.img --trace t.json ... with its timeline
  ukern replay session.rec --disk before.img --gdb 1234     ... under gdb, which can go back

cli.py calls open_gate() before a run (a Recorder or a Replayer from record.py stands
between the host and the console) and `ukern replay` rebuilds the recorded command line,
with the recording as `args.replay`, and runs it.  A replay never changes the disk image
it is given: it runs on a temporary copy, so it can be repeated.
"""

import os
import sys

from ..cmdline import CommandError


def add_record_options(group) -> None:
    group.add_argument('--record', metavar='FILE',
                       help='record what enters the machine from outside (keys with their '
                            'instruction counts, options, the disk\'s hash) for `ukern replay FILE`')
    group.add_argument('--exact-clock', action='store_true', default=None,
                       help='count every instruction, even when one process runs alone, so that '
                            'virtual time is exact (on with --trace, --record and --gdb)')


def add_replay_command(sub) -> None:
    rp = sub.add_parser('replay', help='run a session recorded with --record again, exactly')
    rp.add_argument('file', help='the recording')
    rp.add_argument('--disk', help='the disk image as it was when recording began (a copy: '
                    'the recorded session changed the original); default: the recorded path')
    rp.add_argument('--trace', metavar='FILE.json', help='write a Chrome/Perfetto trace of the replay')
    from ..cmdline import int_between
    from .options import DEFAULT_EVERY
    rp.add_argument('--gdb', metavar='PORT', type=int_between(0, 65535),
                    help='stop before the first instruction and serve gdb (reverse execution too)')
    rp.add_argument('--snapshot-every', metavar='N', type=int_between(0, 1 << 40), default=DEFAULT_EVERY,
                    help='with --gdb: a snapshot every N instructions (default %(default)s)')
    rp.set_defaults(func=cmd_replay)


def open_gate(kernel, args, interactive: bool):
    """A Recorder (--record) or a Replayer (ukern replay) in front of the console, or
    neither; returns (gate, close)."""
    # record.py (hashlib, json) is imported only by a run that records or replays: every
    # other run calls this too, and `ukern run hello` should not pay for it.
    if getattr(args, 'replay', None) is not None:
        from .record import Replayer
        kernel.interactive = args.replay.options['interactive']
        gate = Replayer(kernel, args.replay)
        return gate, gate.close
    if getattr(args, 'record', None):
        from .record import Recorder, encode_script
        kernel.interactive = True          # input points after every slice (record.py)
        options = {'argv': getattr(args, 'argv', []),      # (a replay leaves out its --record)
                   'interactive': True,
                   'host': _host(args),
                   'input': encode_script(_script(args))}
        gate = Recorder(kernel, args.record, options, args.disk_sha256,
                        host_files=getattr(args, 'host_files', None))
        return gate, gate.close
    if getattr(args, 'exact_clock', None) or getattr(args, 'trace', None):
        kernel.exact_clock = True
    return None, lambda: None


def _host(args) -> dict:
    from ..cli import host_of
    return host_of(args)


def _script(args) -> bytes | None:
    path = getattr(args, 'input', None)
    if not path:
        return None
    with open(path, 'rb') as f:
        return f.read()


def cmd_replay(args) -> int:
    import shutil
    import tempfile
    from ..cli import build_parser, names_wanted
    from .record import Recording
    recording = Recording(args.file)
    argv = recording.options['argv']
    try:
        run = build_parser().parse_args(argv)
    except SystemExit:
        raise CommandError(f'{args.file}: the recorded command line no longer parses: {" ".join(argv)}') from None
    run.argv, run.replay, run.record = argv, recording, None
    run.names = names_wanted(run)        # exec as the recorded run did, whatever we trace now
    run.trace, run.gdb, run.snapshot_every = args.trace, args.gdb, args.snapshot_every
    if args.disk:
        run.disk = args.disk
    recording.check_disk(run.disk)
    recording.check_host_files()
    if not run.disk:
        return run.func(run)
    with tempfile.TemporaryDirectory(prefix='ukern-replay-') as tmp:
        copy = os.path.join(tmp, 'disk.img')
        shutil.copyfile(run.disk, copy)         # the replay changes its copy, never the image
        run.disk = copy
        sys.stdout.flush()
        return run.func(run)
