"""What every fuzzer shares: a fresh machine and kernel, runs bounded by virtual time (and a
host timeout as a backstop), the tally of outcomes, and the corpus of failing inputs.

An outcome is a short string ("ran: exit 0", "refused: ExecError", ...): the tally counts the
distinct ones.  A *finding* is what breaks a fuzzer's property: a Python exception out of the
kernel (a traceback) or a run that does not end (a hang).  Findings are saved under
tests/corpus/<fuzzer>/ and tests/test_corpus.py replays them.
"""

import io
import json
import signal
import traceback
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USERLAND = ROOT / 'build' / 'userland'
CORPUS = ROOT / 'tests' / 'corpus'

VIRTUAL_LIMIT_NS = 200_000_000     # each run: at most 0.2 s of virtual time
HOST_LIMIT_S = 20                  # ... and, should the kernel itself loop, 20 s of host time
TICK_NS = 1_000_000                 # how often the bound looks whether the run is over
GRACE_S = 5                        # after asking the loop to stop, before giving up on it


class HostTimeout(Exception):
    """The host timeout fired: the kernel did not give control back (a hang)."""


class Finding(Exception):
    """An input broke the property; the message is the traceback or the hang's description."""

    def __init__(self, kind: str, text: str):
        super().__init__(text)
        self.kind = kind               # 'traceback' or 'hang'
        self.text = text


@dataclass
class Tally:
    """What one fuzzer tried and saw."""
    name: str
    tried: int = 0
    outcomes: Counter = field(default_factory=Counter)
    tracebacks: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)
    saved: list[tuple[str, str, str]] = field(default_factory=list)    # (kind, last line, where)

    def record(self, outcome: str) -> None:
        self.tried += 1
        self.outcomes[outcome] += 1

    def finding(self, f: Finding, saved: str) -> None:
        self.tried += 1
        line = f.text.strip().splitlines()[-1]
        (self.tracebacks if f.kind == 'traceback' else self.hangs).append(line)
        self.outcomes[f'FINDING {f.kind}'] += 1
        self.saved.append((f.kind, line, saved))


def boot(mem: int = 32 << 20, disk: Path | None = None, stdin: bytes = b'', quantum: int = 100_000):
    """A fresh machine and kernel (as tests/conftest.py boot()), its console into a buffer;
    kernel bugs are not contained, so that they surface as exceptions."""
    from emu.machine import Machine
    from emu.disk_image import DiskImage
    from kernel.kernel import Kernel
    out = bytearray()
    log: list[str] = []
    machine = Machine(mem, console_sink=out.extend, console_source=io.BytesIO(stdin),
                      disks=[DiskImage(disk)] if disk else None)
    kernel = Kernel(machine, quantum=quantum, log=log.append)
    kernel.contain_bugs = False
    _booted.append(kernel)
    return kernel, out, log


def stop_after(kernel, ns: int = VIRTUAL_LIMIT_NS, done=lambda: False) -> None:
    """End the run `ns` of virtual time from now, or as soon as done() (checked every
    millisecond of virtual time: clock events, so a slice spinning in user mode ends there
    too, and an idle kernel does not jump to the deadline once the work is done)."""
    deadline = kernel.clock.now + ns

    def tick():
        if done() or kernel.clock.now >= deadline:
            kernel.stop_requested = True
        else:
            kernel.clock.schedule(min(deadline, kernel.clock.now + TICK_NS), tick)
    kernel.clock.schedule(min(deadline, kernel.clock.now + TICK_NS), tick)


def run_process(kernel, p, ns: int = VIRTUAL_LIMIT_NS) -> str:
    """Run until p has exited (or the bound); its outcome."""
    from kernel.proc.process import State
    stop_after(kernel, ns, lambda: p.state is State.ZOMBIE)
    kernel.run()
    kernel.stop_requested = False
    return exit_outcome(p.exit_status if p.state is State.ZOMBIE else None)


_booted: list = []                 # the kernel of the run in progress (for the host timeout)
_expiries: list = []               # how often the host timeout fired in the run in progress


def host_time_is_up() -> bool:
    """The host timeout fired: a run of several programs should start no more of them."""
    return bool(_expiries)


@contextmanager
def host_timeout(seconds: float = HOST_LIMIT_S):
    """Bound a run by host time.  An expiry asks the kernel's loop to stop (an exception
    raised inside a CPU callback would be swallowed by ctypes) and rearms for a grace
    period; the third expiry raises HostTimeout, for a kernel looping outside its loop."""
    def expired(signum, frame):
        _expiries.append(True)
        if _booted:
            _booted[-1].stop_requested = True
        if len(_expiries) >= 3:
            raise HostTimeout(f'no return after {seconds} s of host time')
        signal.setitimer(signal.ITIMER_REAL, GRACE_S)
    old = signal.signal(signal.SIGALRM, expired)
    _booted.clear()
    _expiries.clear()
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        _booted.clear()
    if _expiries:
        raise HostTimeout(f'still running after {seconds} s of host time')


def guarded(run, *args, seconds: float = HOST_LIMIT_S) -> str:
    """run(*args) -> outcome, with any exception it lets out turned into a Finding."""
    try:
        with host_timeout(seconds):
            return run(*args)
    except HostTimeout as e:
        raise Finding('hang', str(e)) from None
    except Exception:
        raise Finding('traceback', traceback.format_exc()) from None


def exit_outcome(status: int | None) -> str:
    """A wait status as an outcome: 'exit N', 'signal N', or 'running' (stopped by the bound)."""
    if status is None:
        return 'running at the bound'
    if status & 0x7F == 0:
        return f'exit {status >> 8 & 0xFF}'
    return f'signal {status & 0x7F}'


def save(fuzzer: str, name: str, data: bytes, meta: dict) -> str:
    """Keep a failing input (data) and what it is (meta, JSON) in tests/corpus/<fuzzer>/."""
    where = CORPUS / fuzzer
    where.mkdir(parents=True, exist_ok=True)
    (where / f'{name}.bin').write_bytes(data)
    (where / f'{name}.json').write_text(json.dumps(meta, indent=1) + '\n')
    return str((where / name).relative_to(ROOT))


def corpus_entries(fuzzer: str) -> list[tuple[Path, dict]]:
    where = CORPUS / fuzzer
    if not where.is_dir():
        return []
    return [(p.with_suffix('.bin'), json.loads(p.read_text())) for p in sorted(where.glob('*.json'))]
