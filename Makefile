# ukern: the two commands a newcomer needs are `make run` and `make test`.
# Everything is installed into .venv by the targets themselves.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
BUILD  := build
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test bench userland clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

userland: $(STAMP)
	$(PY) userland/build.py $(BUILD)/userland

run: userland
	$(PY) -m kernel run $(BUILD)/userland/bin/hello

test: userland
	$(PY) -m pytest -q

bench: userland
	$(PY) bench/run.py

clean:
	rm -rf $(BUILD)
