"""Shared fixtures: the built guest programs, and running one under a fresh kernel."""

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
USERLAND = ROOT / 'build' / 'userland'


@pytest.fixture(scope='session')
def userland() -> Path:
    """The guest programs, built once per test session (incremental)."""
    r = subprocess.run([sys.executable, str(ROOT / 'userland' / 'build.py'), str(USERLAND)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return USERLAND


@dataclass
class GuestRun:
    status: int                  # wait status of the first process
    output: bytes                # everything written to the console
    log: list[str] = field(default_factory=list)   # kernel messages
    kernel: object = None

    @property
    def text(self) -> str:
        return self.output.decode(errors='replace')

    @property
    def exit_code(self) -> int:
        from kernel.cli import wait_status_to_exit_code
        return wait_status_to_exit_code(self.status)


def boot(mem: int = 64 << 20, quantum: int = 100_000, seed: int = 0, stdin: bytes = b''):
    """A fresh machine and kernel whose console writes into a buffer."""
    import io
    from emu.machine import Machine
    from kernel.kernel import Kernel
    out = bytearray()
    log: list[str] = []
    machine = Machine(mem, console_sink=out.extend, console_source=io.BytesIO(stdin))
    kernel = Kernel(machine, quantum=quantum, seed=seed, log=log.append)
    return kernel, out, log


def run_program(path: Path, *args: str, env=(), **boot_args) -> GuestRun:
    kernel, out, log = boot(**boot_args)
    argv = [str(path).encode()] + [a.encode() for a in args]
    p = kernel.spawn(path.read_bytes(), argv, [e.encode() for e in env])
    kernel.run()
    return GuestRun(p.exit_status, bytes(out), log, kernel)


@pytest.fixture
def run(userland):
    """run('tests/brk', 'arg', ...) -> GuestRun"""
    def _run(name: str, *args: str, **kw) -> GuestRun:
        return run_program(userland / name, *args, **kw)
    return _run
