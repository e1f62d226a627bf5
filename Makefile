# ukern: the two commands a newcomer needs are `make run` and `make test`.
# Everything is installed into .venv by the targets themselves.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
BUILD  := build
STAMP  := $(VENV)/.installed-stamp

DISK   := $(BUILD)/disk.img

FUZZ_ARGS ?= --counts syscalls=10000,elf=1000,disk=1000,ahci=10000

.PHONY: run test fuzz mutate crash crash-objects bench bench-peers userland unicorn disk gdb clean grade handin lab-start lab-stop

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

userland: $(STAMP)
	$(PY) userland/build.py $(BUILD)/userland --root $(BUILD)/root

# ukern's build of Unicorn (emu/unicorn_build.py): the same CPU, with slices counted at
# almost no cost.  Where it cannot be built, ukern runs on the stock library (slower when
# two processes compute, same results), so a failure here does not stop the target.
unicorn: $(STAMP)
	-$(PY) -m emu.unicorn_build

# The default disk: partition 1 is an ext2 copy of build/root (/bin, /tests, /etc).
disk: userland
	$(PY) -m kernel mkdisk $(DISK) --root $(BUILD)/root --size 64M

# Boot to the shell: /sbin/init starts /bin/sh on this terminal.  `exit` (or Ctrl-D) shuts down.
run: disk
	$(PY) -m kernel run --disk $(DISK) /bin/hello
	$(PY) -m kernel boot --disk $(DISK)

test: userland unicorn
	$(PY) -m pytest -q

# The fuzzers (fuzz/): system calls, ELF files, disk images, the AHCI model, each for the
# count issue #21 asks for (FUZZ_ARGS='--seconds 300' shares a time instead); writes
# bench/FUZZ.md, keeps failing inputs in tests/corpus/.
fuzz: userland
	$(PY) -m fuzz $(FUZZ_ARGS)

# Mutation testing of the memory mechanisms (fuzz/mutate.py): each mutation must make its
# tests fail; writes bench/MUTATIONS.md.  (make test checks the list and runs one of them.)
mutate: userland
	$(PY) -m fuzz.mutate

# The crash sweep: the power cut at 200 points of a file-system workload, each disk then
# checked by e2fsck and by booting ukern on it; writes bench/CRASH.md.
crash: disk
	$(PY) bench/crash.py --points 200 --image $(DISK)

# The object store's crash sweep: a power cut at every disk command of a workload
# (bench/objcrash.py); writes bench/CRASH_OBJECTS.md.  make test runs a sample.
crash-objects: userland
	$(PY) bench/objcrash.py

bench: userland unicorn
	$(PY) -m pip install -q matplotlib
	$(PY) bench/run.py
	$(PY) bench/policies.py
	$(PY) bench/kernel_policies.py

# ukern beside Qiling (bench/PEERS.md).  Qiling pins versions of packages ukern also uses,
# so it lives in its own virtual environment, never in .venv.
PEERS_VENV := $(BUILD)/peers-venv
$(PEERS_VENV)/.installed-stamp:
	$(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install -q qiling==1.4.6
	touch $@

bench-peers: userland unicorn $(PEERS_VENV)/.installed-stamp
	$(PY) bench/peers.py --qiling $(PEERS_VENV)/bin/python

# A demo under gdb: the kernel stops before the first instruction and serves gdb.
GDBPORT ?= 1234
# gdb connects once the stub listens (kernel/trace/gdbwait.py); a port in use ends it in one line.
gdb: userland
	$(PY) -m kernel run --gdb $(GDBPORT) $(BUILD)/userland/bin/gdbdemo & \
	$(PY) -m kernel.trace.gdbwait $(GDBPORT) $$! || { wait $$!; exit 1; }; \
	gdb -q -nx -ex 'target remote 127.0.0.1:$(GDBPORT)' -ex 'break main' -ex 'continue' \
	    $(BUILD)/userland/bin/gdbdemo; wait

# Course labs (labs/README.md): start one, grade it (LAB empty: every lab), go back.
# PDB=1: stop in pdb at the first failing test; TEST=TEXT: only the tests named with TEXT.
LAB ?=
PDB ?=
TEST ?=
grade: userland
	$(PY) labs/grade.py $(LAB) $(if $(PDB),--pdb) $(if $(TEST),-k '$(TEST)')

# A tarball of your files with the grader's result inside: build/handin/LAB-handin.tar.gz.
handin: userland
	@test -n "$(LAB)" || { echo 'usage: make handin LAB=NAME'; exit 2; }
	$(PY) labs/grade.py $(LAB) --handin

lab-start: $(STAMP)
	@test -n "$(LAB)" || { echo 'usage: make lab-start LAB=NAME'; $(PY) -m kernel lab list; exit 2; }
	$(PY) -m kernel lab start $(LAB)

lab-stop: $(STAMP)
	$(PY) -m kernel lab stop

clean:
	rm -rf $(BUILD)
