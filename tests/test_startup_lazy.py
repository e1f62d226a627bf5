"""A run loads only what it uses: `ukern run` of a program from the host's tree (no --disk)
loads neither ext2 nor the buffer cache, nor the object store, nor System V IPC; each is
imported by the first mount, capability call or IPC call that needs it.  And the command
freezes the objects its imports made, so that Python's cyclic collector never scans them
again, and leaves the collector on (kernel/__main__.py); importing kernel.cli alone does
not touch the collector.  Each test looks at sys.modules (or the collector) in a fresh
process."""

from test_startup import modules_after


def hello_run_modules(userland) -> set[str]:
    return modules_after(f'from kernel.cli import main\nstatus = main(["run", "{userland}/bin/hello"])\n'
                         f'assert status == 0, status')


def test_a_run_on_the_host_tree_loads_no_ext2_or_buffer_cache(userland):
    loaded = hello_run_modules(userland)
    assert 'kernel.fs.hostfs' in loaded
    assert not {m for m in loaded if m.startswith(('kernel.fs.ext2', 'kernel.fs.bcache'))
                and m != 'kernel.fs.ext2_layout' and m != 'kernel.fs.ext2_vfs'}


def test_a_run_without_capability_calls_loads_no_object_store(userland):
    loaded = hello_run_modules(userland)
    assert 'kernel.sys.objsys' in loaded
    assert not [m for m in loaded if m.startswith('kernel.obj')]


def test_a_run_without_ipc_calls_loads_no_system_v_objects(userland):
    loaded = hello_run_modules(userland)
    assert 'kernel.sys.sysv' in loaded
    assert not {'kernel.ipc.ids', 'kernel.ipc.shm', 'kernel.ipc.sem', 'kernel.ipc.msg'} & loaded


def test_the_command_freezes_what_its_imports_made_and_keeps_the_collector_on(userland):
    modules_after(f'import gc, sys\nsys.argv = ["ukern", "run", "{userland}/bin/hello"]\n'
                  f'from kernel.__main__ import main\nassert main() == 0\n'
                  f'assert gc.isenabled() and gc.get_freeze_count() > 10_000, gc.get_freeze_count()')


def test_importing_the_command_line_leaves_the_collector_as_it_was():
    modules_after('import gc, kernel.cli\n'
                  'assert gc.isenabled() and gc.get_freeze_count() == 0, gc.get_freeze_count()')
