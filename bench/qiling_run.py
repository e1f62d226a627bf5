"""Run one static Linux program under Qiling: `python qiling_run.py ROOTFS PROGRAM [ARGS...]`.

bench/peers.py starts this with the interpreter of its own virtual environment
(build/peers-venv, made by `make bench-peers`): Qiling pins versions of some packages that
ukern's .venv must not get.  The program's output goes to this process's stdout.
"""

import sys

from qiling import Qiling
from qiling.const import QL_VERBOSE

if __name__ == '__main__':
    rootfs, argv = sys.argv[1], sys.argv[2:]
    Qiling(argv, rootfs, verbose=QL_VERBOSE.DISABLED).run()
