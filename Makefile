# ukern: the two commands a newcomer needs are `make run` and `make test`.
# Everything is installed into .venv by the targets themselves.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
BUILD  := build
STAMP  := $(VENV)/.installed-stamp

DISK   := $(BUILD)/disk.img

FUZZ_SECONDS ?= 300

.PHONY: run test fuzz crash-objects bench bench-peers userland disk gdb clean grade lab-start lab-stop

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

userland: $(STAMP)
	$(PY) userland/build.py $(BUILD)/userland --root $(BUILD)/root

# The default disk: partition 1 is an ext2 copy of build/root (/bin, /tests, /etc).
disk: userland
	$(PY) -m kernel mkdisk $(DISK) --root $(BUILD)/root --size 64M

# Boot to the shell: /sbin/init starts /bin/sh on this terminal.  `exit` (or Ctrl-D) shuts down.
run: disk
	$(PY) -m kernel run --disk $(DISK) /bin/hello
	$(PY) -m kernel boot --disk $(DISK)

test: userland
	$(PY) -m pytest -q

# The fuzzers (fuzz/): system calls, ELF files, disk images, the AHCI model, sharing
# FUZZ_SECONDS; writes bench/FUZZ.md, keeps failing inputs in tests/corpus/.
fuzz: userland
	$(PY) -m fuzz --seconds $(FUZZ_SECONDS)

# The object store's crash sweep: a power cut at every disk command of a workload
# (bench/objcrash.py); writes bench/CRASH_OBJECTS.md.  make test runs a sample.
crash-objects: userland
	$(PY) bench/objcrash.py

bench: userland
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

bench-peers: userland $(PEERS_VENV)/.installed-stamp
	$(PY) bench/peers.py --qiling $(PEERS_VENV)/bin/python

# A demo under gdb: the kernel stops before the first instruction and serves gdb.
GDBPORT ?= 1234
gdb: userland
	$(PY) -m kernel run --gdb $(GDBPORT) $(BUILD)/userland/bin/gdbdemo & \
	sleep 1; gdb -q -nx -ex 'target remote 127.0.0.1:$(GDBPORT)' -ex 'break main' -ex 'continue' \
	    $(BUILD)/userland/bin/gdbdemo; wait

# Course labs (labs/README.md): start one, grade it (LAB empty: every lab), go back.
LAB ?=
grade: userland
	$(PY) labs/grade.py $(LAB)

lab-start: $(STAMP)
	@test -n "$(LAB)" || { echo 'usage: make lab-start LAB=NAME'; $(PY) -m kernel lab list; exit 2; }
	$(PY) -m kernel lab start $(LAB)

lab-stop: $(STAMP)
	$(PY) -m kernel lab stop

clean:
	rm -rf $(BUILD)
