"""The emulated machine ukern runs on: CPU, RAM, clock, bus and devices (see machine.py).

Its CPU is Unicorn: ukern's own build of it where one has been built (unicorn_lib.py)."""

from .unicorn_lib import load_library

load_library()
