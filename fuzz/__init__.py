"""Fuzzers for ukern (tools, not kernel code): system calls (syscalls.py), executables
(elf.py), ext2 disk images (disk.py) and the AHCI model (ahci.py), sharing common.py's
bounds, tallies and corpus.  `python -m fuzz` (`make fuzz`) runs them and writes
bench/FUZZ.md; tests/test_corpus.py replays what they found."""
