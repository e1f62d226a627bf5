"""Kernel course labs: which of ukern's own parts a lab replaces with a student's code.

A lab (labs/NAME/README.md is its handout) takes one part of the kernel out and lets the
student write it.  The part stays in the tree as the reference solution; nothing the student
does changes it.  Instead, while a lab is active, the kernel's names are rebound to the
student's functions and classes:

    LABS['cow'].patches = [Patch('kernel.mm.vm:AddressSpace.fork', 'cow.py:fork'), ...]

reads "while lab cow is active, AddressSpace.fork is the function `fork` of the student's
file cow.py" (labs/cow/student/cow.py, copied from labs/cow/starter/ by `ukern lab start
cow`).  A patch target is `module:attribute`, `module:Class.attribute` or `module:TABLE[key]`
(a syscall number in kernel.sys.table.SYSCALLS, a name in kernel.mm.policy.POLICIES).

Which lab is active:
  * UKERN_LAB=NAME in the environment (the grader sets it, with UKERN_LAB_DIR=the directory
    holding the student's files, or UKERN_LAB_REFERENCE=1 to grade the reference), or
    UKERN_LAB=none: no lab at all, whatever labs/*/student/ holds (the test suite sets it,
    tests/conftest.py); the environment always wins, so while the grader grades one lab
    another lab's `.active` file is ignored, and a lab is never active under `make test';
  * otherwise the file labs/NAME/student/.active, written by `ukern lab start NAME`,
    removed by `ukern lab stop`.

`activate_active()` applies the active lab (once; it is cheap when none is); the kernel calls
it when a Kernel is made.  `hook(lab, name, default)` is the explicit form for a code path
that wants to ask directly.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import os
import shutil
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABS_DIR = ROOT / 'labs'
UKERN_SYSCALL_BASE = 1000          # kernel/sys/table.py UKERN_BASE; userland/include/ukern.h
NO_LAB = 'none'                    # UKERN_LAB=none: no lab is active


@dataclass(frozen=True)
class Patch:
    """One name a lab rebinds to the student's code."""
    target: str              # 'module:attr', 'module:Class.attr' or 'module:TABLE[key]'
    student: str             # 'file.py:name' in the student's directory
    reference: str | None = None   # 'module:name' installed when grading the reference
                                    # (None: the target already is the reference)


@dataclass
class Lab:
    """A course lab: its handout name, title, and the names it rebinds."""
    name: str
    title: str
    patches: list[Patch]
    starter: list[str] = field(default_factory=list)     # files of labs/NAME/starter/

    @property
    def directory(self) -> Path:
        return LABS_DIR / self.name

    @property
    def student_dir(self) -> Path:
        return self.directory / 'student'


def _sys(n: int) -> str:
    return f'kernel.sys.table:SYSCALLS[{UKERN_SYSCALL_BASE + n}]'


LABS: dict[str, Lab] = {lab.name: lab for lab in [
    Lab('syscall', 'System calls: trace and sysinfo', [
        Patch(_sys(0), 'syscall.py:sys_trace', 'kernel.sys.ukern:sys_trace'),
        Patch(_sys(1), 'syscall.py:sys_sysinfo', 'kernel.sys.ukern:sys_sysinfo'),
    ], ['syscall.py']),
    Lab('cow', 'Copy-on-write fork', [
        Patch('kernel.mm.vm:AddressSpace.fork', 'cow.py:fork'),
        Patch('kernel.mm.fault:_break_cow', 'cow.py:break_cow'),
    ], ['cow.py']),
    Lab('replacement', 'Page replacement: second chance (CLOCK-Pro as the challenge)', [
        Patch('kernel.mm.policy:POLICIES[lab-second-chance]', 'policy.py:SecondChance',
              'kernel.mm.policy.second_chance:SecondChance'),
        Patch('kernel.mm.policy:POLICIES[lab-clock-pro]', 'policy.py:ClockPro',
              'kernel.mm.policy.clockpro:ClockPro'),
    ], ['policy.py']),
    Lab('ahci', 'The AHCI driver: the bottom half and the elevator\'s merge', [
        Patch('kernel.dev.ahci:AhciDriver.interrupt', 'ahci.py:interrupt'),
        Patch('kernel.dev.ahci:AhciDriver._port_interrupt', 'ahci.py:port_interrupt'),
        Patch('kernel.dev.blk:BlockQueue._merge', 'ahci.py:merge'),
    ], ['ahci.py']),
    Lab('pgtbl', 'Page tables: print them, a ukern page for getpid, the Accessed bit', [
        Patch('kernel.mm.pgtbl_report:vmprint', 'pgtbl.py:vmprint'),
        Patch('kernel.mm.pgtbl_report:map_ukern_page', 'pgtbl.py:map_ukern_page'),
        Patch('kernel.mm.pgtbl_report:pgaccess', 'pgtbl.py:pgaccess'),
    ], ['pgtbl.py']),
    # A C lab: no kernel name is rebound.  The student's labs/objsrv/student/objsrv.c is
    # compiled by the lab's own grader (labs/objsrv/make.py) and runs as /sbin/objsrv.
    Lab('objsrv', 'The object server: a ring-3 AHCI driver, upcalls, I/O-pinned frames', [], ['objsrv.c']),
    # -- labs lazy, mmap, fs, threads, sched ------------------------------------------------
    Lab('lazy', 'Lazy allocation of the heap: brk moves, the fault handler maps', [
        Patch('kernel.sys.table:SYSCALLS[12]', 'lazy.py:sys_brk'),
        Patch('kernel.mm.fault:_fill', 'lazy.py:fill'),
    ], ['lazy.py']),
    Lab('mmap', 'Mapped files: MAP_SHARED and MAP_PRIVATE on the buffer cache', [
        Patch('kernel.mm.fault:_map_file_page', 'mmap.py:map_file_page'),
        Patch('kernel.mm.vm:AddressSpace.sync_shared', 'mmap.py:sync_shared'),
    ], ['mmap.py']),
    Lab('fs', 'ext2: doubly-indirect blocks for large files, and symbolic links', [
        Patch('kernel.fs.ext2_alloc:block_path', 'fs.py:block_path'),
        Patch('kernel.fs.ext2_links:Links.symlink', 'fs.py:symlink'),
        Patch('kernel.fs.ext2_links:Links.readlink', 'fs.py:readlink'),
    ], ['fs.py']),
    Lab('threads', 'Kernel threads (clone with CLONE_THREAD) and futex wait/wake', [
        Patch('kernel.proc.lifecycle:new_thread', 'threads.py:new_thread'),
        Patch('kernel.proc.futex:wait', 'threads.py:wait'),
        Patch('kernel.proc.futex:FutexTable.wake', 'threads.py:wake'),
    ], ['threads.py']),
    Lab('sched', 'A fair-share scheduler: CPU time by nice', [
        Patch('kernel.proc.sched:after_slice', 'sched.py:after_slice', 'kernel.proc.sched:by_nice'),
        Patch('kernel.proc.sched:nice_weight', 'sched.py:nice_weight'),
    ], ['sched.py']),
]}


class LabError(Exception):
    pass


def get(name: str) -> Lab:
    try:
        return LABS[name]
    except KeyError:
        raise LabError(f'no lab {name!r} (labs: {", ".join(LABS)})') from None


# -- loading the student's code and rebinding the kernel's names ------------------------------

def _load_file(lab: str, path: Path):
    """Import a student's file as a module of its own (a fresh one each time it changes)."""
    modname = f'ukern_lab_{lab}_{path.stem}'
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or not path.exists():
        raise LabError(f'lab {lab}: {path} is missing (did you run `ukern lab start {lab}`?)')
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    spec.loader.exec_module(module)
    return module


def _resolve_source(lab: str, source: str, directory: Path, cache: dict):
    file, name = source.split(':')
    if file.endswith('.py'):
        if file not in cache:
            cache[file] = _load_file(lab, directory / file)
        module = cache[file]
    else:
        module = importlib.import_module(file)
    try:
        return getattr(module, name)
    except AttributeError:
        raise LabError(f'lab {lab}: {source} does not define {name}') from None


def _target(target: str):
    """(container, key, is_item) for a patch target."""
    modname, path = target.split(':')
    obj = importlib.import_module(modname)
    if path.endswith(']'):
        table, key = path[:-1].split('[')
        container = getattr(obj, table)
        return container, (int(key) if key.isdigit() else key), True
    *parents, attr = path.split('.')
    for p in parents:
        obj = getattr(obj, p)
    return obj, attr, False


_MISSING = object()
_undo: list[tuple] = []            # (container, key, is_item, old value) to restore, newest last
_active: tuple | None = None       # (lab name, directory, reference) now applied
# activate(..., watch=True) (the grader): how often each of the student's functions was
# called, by 'file.py:name', so that a failure can say which of the student's code ran.
CALLS: Counter = Counter()
# `ukern lab run --pdb`: called as on_kernel_bug(kernel, exception) when the kernel meets a
# bug (an exception while serving a process), before it contains it (labs/gradepdb.py).
on_kernel_bug = None
INSTALLED: dict[str, tuple] = {}   # 'file.py:name' -> (the kernel name it replaces, counted?)


def _watched(source: str, func):
    """`func` counting its calls in CALLS[source]; a generator stays a generator (the
    syscall table asks the handler's code whether it may wait)."""
    if inspect.isgeneratorfunction(func):
        @functools.wraps(func)
        def gen_call(*args, **kw):
            CALLS[source] += 1
            return (yield from func(*args, **kw))
        return gen_call

    @functools.wraps(func)
    def call(*args, **kw):
        CALLS[source] += 1
        return func(*args, **kw)
    return call


def _install(target: str, value) -> None:
    container, key, is_item = _target(target)
    if is_item:
        if target.startswith('kernel.sys.table:'):
            from .sys.table import _entry
            value = _entry(key, value)
        old = container.get(key, _MISSING)
        container[key] = value
    else:
        old = container.__dict__.get(key, _MISSING) if isinstance(container, type) else \
            getattr(container, key, _MISSING)
        setattr(container, key, value)
    _undo.append((container, key, is_item, old))


def activate(name: str, directory: Path | str | None = None, reference: bool = False,
             watch: bool = False) -> None:
    """Rebind the kernel's names to lab `name`'s student files in `directory` (default
    labs/NAME/student), or, with reference=True, to the reference solution.  watch=True
    counts the calls of the student's functions (CALLS)."""
    global _active
    lab = get(name)
    directory = Path(directory) if directory else lab.student_dir
    key = (name, str(directory), reference)
    if _active == key:
        return
    deactivate()
    CALLS.clear()
    cache: dict = {}
    try:
        for patch in lab.patches:
            if reference:
                if patch.reference is not None:
                    _install(patch.target, _resolve_source(name, patch.reference, directory, cache))
                continue
            value = _resolve_source(name, patch.student, directory, cache)
            if watch:
                counted = inspect.isfunction(value)
                INSTALLED[patch.student] = (patch.target, counted)
                if counted:
                    value = _watched(patch.student, value)
            _install(patch.target, value)
    except Exception:
        deactivate()
        raise
    _active = key


def deactivate() -> None:
    """Put every rebound name back (the reference parts)."""
    global _active
    while _undo:
        container, key, is_item, old = _undo.pop()
        if is_item:
            if old is _MISSING:
                container.pop(key, None)
            else:
                container[key] = old
        elif old is _MISSING:
            delattr(container, key)
        else:
            setattr(container, key, old)
    INSTALLED.clear()
    _active = None


def active() -> tuple[str, Path, bool] | None:
    """(lab, student directory, reference?) of the active lab, or None."""
    name = os.environ.get('UKERN_LAB')
    if name == NO_LAB:
        return None
    if name:
        lab = get(name)
        directory = Path(os.environ.get('UKERN_LAB_DIR') or lab.student_dir)
        return name, directory, os.environ.get('UKERN_LAB_REFERENCE') == '1'
    for lab in LABS.values():
        if (lab.student_dir / '.active').exists():
            return lab.name, lab.student_dir, False
    return None


def in_progress() -> bool:
    """Is a lab's code applied now?  (The kernel then makes no 2 MiB pages: the labs'
    page-table code walks 4-level tables page by page.)"""
    return _active is not None


def activate_active() -> str | None:
    """Apply the active lab, if any (the kernel calls this when a Kernel is made)."""
    which = active()
    if which is None:
        return None          # (a lab a test or the grader activated by hand stays active)
    activate(*which)
    return which[0]


def student_code() -> str:
    """One line naming the student's code that the active lab put in the kernel and how
    often each function ran (counted with watch=True), for a grader's failure message."""
    if _active is None:
        return 'no lab was active (the kernel ran its own parts)'
    name, directory, reference = _active
    if reference:
        return f'lab {name} was active on the reference solution'
    if not INSTALLED:
        return f'lab {name} was active on {directory} (no kernel name is rebound)'
    parts = []
    for source, (target, counted) in INSTALLED.items():
        ran = (f', {CALLS[source]} calls' if CALLS[source] else ', not called') if counted else ''
        parts.append(f'{source} as {target}{ran}')
    return f'your code in {directory}: ' + '; '.join(parts)


def hook(lab: str, name: str, default):
    """The student's `name` of lab `lab` when that lab is active, else `default`."""
    which = active()
    if which is None or which[0] != lab or which[2]:
        return default
    for patch in get(lab).patches:
        file, attr = patch.student.split(':')
        if attr == name:
            return _resolve_source(lab, patch.student, which[1], {})
    return default


# -- the student's work area -------------------------------------------------------------------

def start(name: str, force: bool = False) -> list[Path]:
    """Copy the starter files into labs/NAME/student/ (keeping files already there unless
    force) and make NAME the active lab.  Returns the student's files."""
    lab = get(name)
    stop()
    lab.student_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for f in lab.starter:
        dst = lab.student_dir / f
        if force or not dst.exists():
            shutil.copyfile(lab.directory / 'starter' / f, dst)
        files.append(dst)
    (lab.student_dir / '.active').write_text(name + '\n')
    return files


def stop() -> str | None:
    """No lab is active any more: the kernel runs its reference parts.  The student's files
    stay in labs/NAME/student/.  Returns the lab that was active."""
    was = None
    for lab in LABS.values():
        marker = lab.student_dir / '.active'
        if marker.exists():
            marker.unlink()
            was = lab.name
    deactivate()
    return was
