"""ukern's build of Unicorn (emu/unicorn_build.py, emu/unicorn_lib.py): `make test` builds it,
the CPU counts slices with it, and it changes nothing but speed: a run makes the same trace,
to the instruction, on it and on the library pip installed (UKERN_UNICORN=stock)."""

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, copy_image
from emu.unicorn_lib import LIB_DIR, LIB_NAME

WHICH = '''
from emu.machine import Machine
from unicorn.unicorn_py3.unicorn import uclib
m = Machine(16 << 20)
print(uclib._name, m.cpu._native.unicorn_counts)
'''


def ukern(*args: str, unicorn: str = 'patched', cwd=ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, 'UKERN_UNICORN': unicorn}
    return subprocess.run([sys.executable, '-m', 'kernel', *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def library_in_use(unicorn: str) -> tuple[str, bool]:
    env = {**os.environ, 'UKERN_UNICORN': unicorn}
    r = subprocess.run([sys.executable, '-c', WHICH], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    path, counts = r.stdout.split()
    return path, counts == 'True'


def test_make_test_has_built_ukerns_unicorn():
    assert os.path.exists(os.path.join(LIB_DIR, LIB_NAME)), \
        'build/unicorn/lib holds no library: `make unicorn` failed (see its message)'
    from emu.unicorn_build import is_current
    assert is_current(), 'the build is older than the patch or the installed unicorn: make unicorn'


def test_the_cpu_counts_slices_with_ukerns_unicorn():
    path, counts = library_in_use('patched')
    assert path == os.path.join(LIB_DIR, LIB_NAME)
    assert counts


def test_the_tests_themselves_run_on_ukerns_unicorn():
    from emu.machine import Machine
    assert Machine(16 << 20).cpu._native.unicorn_counts, 'conftest.py must import emu before unicorn'


def test_ukern_unicorn_stock_runs_on_the_library_pip_installed():
    path, counts = library_in_use('stock')
    assert not path.startswith(LIB_DIR)
    assert not counts


@pytest.mark.parametrize('program', [
    ['/tests/crc_fork', '2', '2'],          # two processes computing: many preemptions
    ['/tests/fork_cow'],                    # faults inside blocks, in two processes
])
def test_a_run_makes_the_same_trace_on_either_library(master_image, tmp_path, program):
    traces = {}
    for unicorn in ('stock', 'patched'):
        trace = tmp_path / f'{unicorn}.json'
        disk = copy_image(master_image, tmp_path / f'{unicorn}.img')    # (a run changes its disk)
        r = ukern('run', '--disk', str(disk), '--quantum', '20000', '--trace', str(trace), *program,
                  unicorn=unicorn)
        assert r.returncode == 0, r.stderr
        traces[unicorn] = (r.stdout, json.loads(trace.read_text())['traceEvents'])
    (out_stock, stock), (out_patched, patched) = traces['stock'], traces['patched']
    assert out_patched == out_stock
    switches = [e for e in stock if e['name'] == 'switch']
    assert len(switches) > 4, 'the run should have been preempted many times'
    assert patched == stock


def test_the_guest_does_not_see_the_library_choice_in_its_environment(userland):
    r = ukern('run', str(userland / 'tests' / 'env_host'))
    assert '(env_host) end' in r.stdout and 'FAIL' not in r.stdout, r.stdout + r.stderr
    assert r.returncode == 0


def test_a_build_that_cannot_be_made_leaves_no_stale_library(tmp_path, monkeypatch, capsys):
    import emu.unicorn_build as ub
    lib_dir = tmp_path / 'lib'
    lib_dir.mkdir()
    (lib_dir / LIB_NAME).write_bytes(b'a library built for another version')
    (lib_dir / 'built-from').write_text('2.0.0 0000\n')
    monkeypatch.setattr(ub, 'LIB_DIR', str(lib_dir))
    monkeypatch.setattr(ub, 'STAMP', str(lib_dir / 'built-from'))
    monkeypatch.setattr(ub, 'SOURCES', {})        # as if another unicorn were installed
    assert ub.main() == 1
    assert 'the patch is for unicorn' in capsys.readouterr().err
    assert not (lib_dir / LIB_NAME).exists()
