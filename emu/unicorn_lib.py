"""Which Unicorn library the machine's CPU runs on: ukern's build (unicorn_build.py) if it has
been built, else the one pip installed with the unicorn package.

The unicorn package picks its library once, when it is first imported, and looks first in
the directory LIBUNICORN_PATH names: emu/__init__.py calls load_library() before any
module of emu imports unicorn, and it imports unicorn with the variable set for that moment
only.  Left set, it would be in the environment of every guest run on the host's tree,
which is the host's environment: the same program would see a different environment with
and without the build.  UKERN_UNICORN=stock asks for the library pip installed; a
LIBUNICORN_PATH the user set is left alone.  A program that imports unicorn before emu
gets the library pip installed (bench/run.py and tests/conftest.py import emu first).
"""

import os
import sys

LIB_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'build', 'unicorn', 'lib')
LIB_NAME = 'libunicorn.so.2'            # the name the unicorn package looks for on Linux


def load_library() -> None:
    """Import unicorn, with ukern's build of its library if that has been built."""
    chosen = 'unicorn' not in sys.modules and not os.environ.get('LIBUNICORN_PATH') and \
        os.environ.get('UKERN_UNICORN', 'patched') != 'stock' and \
        os.path.exists(os.path.join(LIB_DIR, LIB_NAME))
    if not chosen:
        return
    os.environ['LIBUNICORN_PATH'] = LIB_DIR
    try:
        import unicorn  # noqa: F401  (loads the library)
    finally:
        del os.environ['LIBUNICORN_PATH']
