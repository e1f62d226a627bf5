"""Guest programs under the kernel: one behaviour each (issue: the machine and the kernel)."""

import re

SIGSEGV, SIGILL, SIGTRAP, SIGFPE = 11, 4, 5, 8


def passed(r, name):
    """A Pintos-style guest test passed: begin, end, exit 0, no FAIL."""
    assert 'FAIL' not in r.text, r.text
    assert f'({name}) begin' in r.text and f'({name}) end' in r.text, r.text
    assert r.status == 0, r.text


def test_hello_prints_through_the_console(run):
    r = run('bin/hello')
    assert r.text == 'hello from ukern: a C program in ring 3 on an emulated x86-64\n'
    assert r.status == 0


def test_arguments_and_environment_reach_main(run):
    r = run('bin/echoargs', 'one', 'two words', env=['A=1', 'B=x y'])
    lines = r.text.splitlines()
    assert lines[0] == 'argc=3'
    assert lines[2:4] == ['argv[1]=one', 'argv[2]=two words']
    assert lines[4:] == ['env A=1', 'env B=x y']


def test_exit_status_is_the_programs(run):
    r = run('asm/exit42')
    assert r.exit_code == 42


def test_segfault_kills_only_the_process_with_a_report(run):
    r = run('bin/segv')
    assert r.status & 0x7F == SIGSEGV
    assert 'still alive' not in r.text
    assert re.fullmatch(r'ukern: pid 1 \(segv\) killed by SIGSEGV: write to unmapped 0x0000000000000010 '
                        r'at rip 0x[0-9a-f]+: mov dword ptr \[0x10\], 1', r.log[-1]), r.log


def test_bad_pointers_to_syscalls_return_efault(run):
    passed(run('tests/badptr'), 'badptr')


def test_unknown_syscall_returns_enosys_and_is_logged_by_name(run):
    r = run('tests/nosys')
    passed(r, 'nosys')
    assert any('system call io_setup (206) is not implemented: ENOSYS' in line for line in r.log), r.log
    assert any('syscall_999 (999)' in line for line in r.log), r.log


def test_malloc_of_32_mib_touched_sparsely_maps_only_touched_pages(run):
    r = run('tests/bigmalloc')
    passed(r, 'bigmalloc')


def test_anonymous_mmap_munmap_mprotect(run):
    passed(run('tests/mmap_anon'), 'mmap_anon')


def test_brk_grows_and_shrinks_the_heap(run):
    passed(run('tests/brk'), 'brk')


def test_stack_grows_on_demand(run):
    passed(run('tests/stack'), 'stack')


def test_virtual_clock_and_nanosleep(run):
    passed(run('tests/vclock'), 'vclock')


def test_thread_local_storage_through_arch_prctl(run):
    passed(run('tests/tls'), 'tls')


def test_isatty_is_false_when_the_console_is_not_a_terminal(run):
    passed(run('tests/tty'), 'tty')


def test_getrandom_is_deterministic(run):
    a, b = run('tests/random'), run('tests/random')
    passed(a, 'random')
    assert a.text == b.text


def test_user_read_of_a_supervisor_page_faults(run):
    r = run('asm/kread')
    assert r.status & 0x7F == SIGSEGV
    assert 'read of kernel address 0xffff800000000000' in r.log[-1]
    assert r.log[-1].endswith('mov rbx, qword ptr [rax]')


def test_rep_movsb_resumes_exactly_after_faults_mid_copy(run):
    r = run('asm/repmovs')
    assert r.exit_code == 0, r.log


def test_invalid_opcode_is_sigill(run):
    r = run('asm/ud2')
    assert r.status & 0x7F == SIGILL
    assert r.log[-1].endswith('invalid opcode at rip 0x' + r.log[-1].split('rip 0x')[1].split(':')[0] + ': ud2')


def test_breakpoint_is_sigtrap_reported_at_the_int3(run):
    r = run('asm/int3')
    assert r.status & 0x7F == SIGTRAP
    assert r.log[-1].endswith(': int3')


def test_divide_by_zero_is_sigfpe(run):
    r = run('asm/div0')
    assert r.status & 0x7F == SIGFPE
    assert r.log[-1].endswith('divide error at rip ' + r.log[-1].split('at rip ')[1].split(':')[0] + ': div ecx')


def test_privileged_instruction_is_general_protection(run):
    r = run('asm/hlt')
    assert r.status & 0x7F == SIGSEGV
    assert 'general protection fault' in r.log[-1] and r.log[-1].endswith(': hlt')


def test_jump_into_no_exec_data_faults(run):
    r = run('asm/nxjump')
    assert r.status & 0x7F == SIGSEGV
    assert 'execute of non-executable' in r.log[-1] and r.log[-1].endswith(': ret')


def test_write_to_own_code_faults(run):
    r = run('asm/rowrite')
    assert r.status & 0x7F == SIGSEGV
    assert 'write to read-only' in r.log[-1]


def test_two_processes_never_see_each_others_memory(userland):
    from conftest import boot
    kernel, out, log = boot(quantum=5_000)
    prog = (userland / 'tests/isolation').read_bytes()
    procs = [kernel.spawn(prog, [b'isolation'], []) for _ in range(2)]
    kernel.run()
    text = out.decode()
    assert [p.exit_status for p in procs] == [0, 0], text
    assert text.count('(isolation) end') == 2


def test_preemption_interleaves_compute_bound_processes(userland):
    from conftest import boot
    kernel, out, log = boot(quantum=10_000)
    slices = []
    kernel.trace.subscribe(lambda e: slices.append(e.pid) if e.kind == 'switch' else None)
    prog = (userland / 'tests/spin').read_bytes()
    for _ in range(2):
        kernel.spawn(prog, [b'spin', b'200000'], [])
    kernel.run()
    assert out.decode().count('done') == 2
    switches = sum(1 for a, b in zip(slices, slices[1:]) if a != b)
    assert switches > 20, slices[:40]
