"""A pytest plugin (`pytest -p fuzz.mutant`, with UKERN_MUTATION=NAME) that loads one kernel
module with a mutation of fuzz/mutate.py applied.  It installs an import hook before any
test imports the kernel: the module is compiled from its mutated source (never from a cached
.pyc, and no .pyc of the mutant is written), so every name imported from it is the mutant's."""

import importlib.machinery
import os
import sys

from .mutate import BY_NAME, ENV, LOADED_MARK, mutated_source


class MutantLoader(importlib.machinery.SourceFileLoader):
    def __init__(self, fullname: str, path: str, mutation):
        super().__init__(fullname, path)
        self.mutation = mutation

    def get_code(self, fullname):
        source = self.get_data(self.path).decode()
        code = compile(mutated_source(self.mutation, fullname, source), self.path, 'exec', dont_inherit=True)
        LOADED.add(fullname)
        return code


class MutantFinder:
    """Finds the mutated module (and only it) through the normal path search."""

    def __init__(self, mutation):
        self.mutation = mutation

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.mutation.modules:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None:
            return None
        spec.loader = MutantLoader(fullname, spec.origin, self.mutation)
        return spec


LOADED: set[str] = set()       # the mutated modules imported so far
MUTATION = None


def install(name: str) -> None:
    global MUTATION
    MUTATION = BY_NAME[name]
    early = MUTATION.modules & set(sys.modules)
    if early:
        raise RuntimeError(f'{", ".join(sorted(early))} imported before the mutation could apply')
    sys.meta_path.insert(0, MutantFinder(MUTATION))


def pytest_terminal_summary(terminalreporter):
    """What the runner looks for: which mutated modules the tests really loaded."""
    if MUTATION is not None:
        terminalreporter.write_line(f'{LOADED_MARK} {MUTATION.name}: {",".join(sorted(LOADED))}')


if os.environ.get(ENV):
    install(os.environ[ENV])
