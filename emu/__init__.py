"""The emulated machine ukern runs on: CPU, RAM, clock, bus and devices (see machine.py)."""
