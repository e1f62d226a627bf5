"""ukern's kernel, in Python: it sees the machine only through the `emu` package."""
