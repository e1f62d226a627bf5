"""userland/build.py: the guest build says what it does, rebuilds only what changed, and
names the program and the compiler's message when one fails.  It runs on a small tree of
its own (two programs) with this checkout's zig cache, where musl is already built."""

import importlib.util
import os
import time

import pytest

from conftest import ROOT


@pytest.fixture
def build(userland, tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location('guest_build', ROOT / 'userland' / 'build.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    src = tmp_path / 'src'
    for d in ('include', 'bin', 'sbin', 'tests', 'asm'):
        (src / d).mkdir(parents=True)
    (src / 'include' / 'small.h').write_text('#define GREETING "hi"\n')
    (src / 'bin' / 'hi.c').write_text(
        '#include <stdio.h>\n#include "../include/small.h"\nint main(void) { puts(GREETING); return 0; }\n')
    (src / 'asm' / 'nothing.S').write_text(
        '.globl _start\n_start:\n    mov $60, %eax\n    xor %edi, %edi\n    syscall\n')
    monkeypatch.setattr(module, 'HERE', src)
    return module, src, tmp_path / 'out'


def test_builds_then_rebuilds_only_what_changed(build, capsys):
    module, src, out = build
    assert module.build(out) == 0
    text = capsys.readouterr().out
    assert 'userland: building 2 programs (' in text and 'userland: 2/2 built' in text, text
    exe = out / 'bin' / 'hi'
    assert exe.exists() and (out / 'asm' / 'nothing').exists()
    built = exe.stat().st_mtime_ns

    assert module.build(out) == 0
    assert 'userland: 2 programs up to date' in capsys.readouterr().out
    assert exe.stat().st_mtime_ns == built                  # nothing was compiled again

    later = time.time() + 2
    os.utime(src / 'include' / 'small.h', (later, later))  # a header changed: C programs only
    assert module.build(out) == 0
    text = capsys.readouterr().out
    assert 'userland: building 1 program (' in text, text
    assert exe.stat().st_mtime_ns != built


def test_a_failure_names_the_program_and_the_compiler_message(build, capsys):
    module, src, out = build
    (src / 'tests' / 'broken.c').write_text('int main(void) { return undeclared; }\n')
    assert module.build(out) == 1
    captured = capsys.readouterr()
    assert 'userland: tests/broken.c: build failed' in captured.err, captured.err
    assert 'undeclared' in captured.err and 'error' in captured.err, captured.err
    assert 'userland: 1 of 3 programs failed: tests/broken.c' in captured.err, captured.err
    assert (out / 'bin' / 'hi').exists()                    # the others were still built
