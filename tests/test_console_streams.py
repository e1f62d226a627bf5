"""`ukern run` keeps the guest's stderr apart from its stdout when its own are apart, as
the host would (qemu-user does the same), and in order on one stream when they are one."""

import subprocess
import sys

from conftest import ROOT


def _run(userland, **streams):
    return subprocess.run([sys.executable, '-m', 'kernel', 'run', str(userland / 'tests/stderr_apart')],
                          cwd=ROOT, stdout=subprocess.PIPE, **streams)


def test_the_guests_stderr_goes_to_ukerns_stderr(userland):
    r = _run(userland, stderr=subprocess.PIPE)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b'out\nout again\n'
    assert r.stderr == b'err\n'


def test_with_both_on_one_stream_the_order_is_kept(userland):
    r = _run(userland, stderr=subprocess.STDOUT)
    assert (r.returncode, r.stdout) == (0, b'out\nerr\nout again\n')


def test_in_process_runs_keep_everything_on_the_console(run):
    """Kernels made without an error sink (the tests' own boot) write fd 2 to the console."""
    r = run('tests/stderr_apart')
    assert r.output == b'out\nerr\nout again\n'
