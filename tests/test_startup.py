"""Start-up stays proportional to what a run uses: importing the command line loads neither
the disassembler (only fault reports need it) nor an ELF library (the loader reads the
headers itself), nor the tools and tracers a plain run does not use; and a fault report
still disassembles once capstone is loaded on demand."""

import subprocess
import sys

from conftest import ROOT

NOT_ON_THE_RUN_PATH = ('capstone', 'elftools', 'kernel.tools.objstore', 'kernel.trace.strace',
                       'kernel.trace.gdbstub', 'kernel.trace.chrome')


def modules_after(code: str) -> set[str]:
    r = subprocess.run([sys.executable, '-c', code + '\nimport sys\nprint("\\n".join(sys.modules))'],
                       capture_output=True, text=True, cwd=ROOT, check=True)
    return set(r.stdout.split())


def test_importing_the_command_line_loads_no_disassembler_or_elf_library():
    loaded = modules_after('import kernel.cli')
    assert 'kernel.kernel' in loaded
    assert not [m for m in loaded if m.split('.')[0] in ('capstone', 'elftools')]
    assert not {m for m in NOT_ON_THE_RUN_PATH if m in loaded}


def test_a_run_of_hello_loads_no_disassembler(userland):
    loaded = modules_after(f'from kernel.cli import main\ntry:\n    main(["run", "{userland}/bin/hello"])\n'
                           f'except SystemExit:\n    pass')
    assert 'kernel.proc.elf' in loaded
    assert 'capstone' not in loaded and 'elftools' not in loaded


def test_a_fault_report_still_disassembles_the_instruction(run):
    r = run('bin/segv')
    report = next(line for line in r.log if 'killed by SIGSEGV' in line)
    assert report.rsplit(': ', 1)[1].startswith('mov'), report
