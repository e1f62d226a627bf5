"""The system call path: the kernel's short cut for quick calls, and the CPU reading and
writing the syscall registers in place (emu/livestate.py) or, where that cannot be found,
through Unicorn's API.  Both ways must behave the same."""

import io

import pytest

import emu.cpu
from conftest import boot, run_program
from kernel.sys import table
from kernel.trace.strace import Strace
from test_programs import passed


@pytest.fixture(params=['in place', 'through the API'])
def register_access(request, monkeypatch):
    if request.param == 'through the API':
        monkeypatch.setattr(emu.cpu.livestate, "gprs", lambda uc, ctx, live: None)
    return request.param


def test_quick_calls_keep_signals_restarts_and_arguments(userland, register_access):
    r = run_program(userland / 'tests' / 'sys_fastpath')
    passed(r, 'sys_fastpath')
    assert (r.kernel.cpu._gprs is not None) == (register_access == 'in place')


def test_restart_after_a_handler_still_works(userland, register_access):
    r = run_program(userland / 'tests' / 'sig_restart')
    passed(r, 'sig_restart')


def test_registers_in_place_are_the_cpus_registers():
    kernel, _, _ = boot()
    cpu = kernel.cpu
    assert cpu._gprs is not None, 'this Unicorn build should expose its registers in place'
    for name, value in (('rax', 7), ('rdi', 1 << 63), ('r9', 0x1234_5678_9ABC_DEF0)):
        cpu.set_reg(name, value)
    assert cpu.syscall_args()[0] == 7
    assert cpu.syscall_args()[1] == 1 << 63
    assert cpu.syscall_args()[6] == 0x1234_5678_9ABC_DEF0
    cpu.set_return(-14)
    assert cpu.reg('rax') == (1 << 64) - 14


def test_strace_still_sees_quick_calls(userland):
    kernel, out, _ = boot()
    text = io.StringIO()
    kernel.trace.subscribe(Strace(kernel, text))
    path = userland / 'tests' / 'sys_fastpath'
    kernel.spawn(path.read_bytes(), [b'sys_fastpath'], [])
    kernel.run()
    assert b'(sys_fastpath) end' in out
    lines = text.getvalue().splitlines()
    assert any('getppid() = ' in line for line in lines), lines[:20]
    assert any('uname(0x8) = -1 EFAULT' in line for line in lines), [l for l in lines if 'uname' in l]


def test_a_kernel_bug_in_a_handler_is_raised_not_swallowed(userland, monkeypatch):
    """The bare syscall hook must pass a handler's exception out of the run, as the
    binding's hook wrapper did, rather than let ctypes print and drop it."""
    def broken(k, p) -> int:
        raise RuntimeError('bug in a handler')
    monkeypatch.setitem(table.SYSCALLS, 110, table._entry(110, broken))
    kernel, _, _ = boot()
    path = userland / 'asm' / 'bench_getppid'
    kernel.spawn(path.read_bytes(), [b'bench_getppid'], [])
    with pytest.raises(RuntimeError, match='bug in a handler'):
        kernel.run()


FIND_MANY = '''
from unicorn import Uc, UC_ARCH_X86, UC_MODE_64
from emu import livestate
engines = [Uc(UC_ARCH_X86, UC_MODE_64) for _ in range(12)]
contexts = [uc.context_save() for uc in engines]
found = [livestate.find(uc, ctx) for uc, ctx in zip(engines, contexts)]
print(sum(live is not None and livestate.gprs(uc, ctx, live) is not None
          for uc, ctx, live in zip(engines, contexts, found)))
'''


@pytest.mark.parametrize('threshold', [None, '4096'])
def test_registers_are_found_in_place_wherever_the_allocator_put_them(threshold):
    """Engines made one after another (as a test session makes machines), with the C
    allocator's default placement and with every big allocation in a mapping of its own."""
    import os
    import subprocess
    import sys
    env = dict(os.environ)
    if threshold:
        env['MALLOC_MMAP_THRESHOLD_'] = threshold
    r = subprocess.run([sys.executable, '-c', FIND_MANY], capture_output=True, text=True, env=env,
                       check=True)
    assert r.stdout.strip() == '12'
