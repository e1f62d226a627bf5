"""Every input the fuzzers (fuzz/) ever found failing, replayed as a regular test: a fixed
bug stays fixed.  An entry whose bug is not fixed yet carries "xfail": "<why>" in its .json
and is expected to fail (strictly: once fixed, the mark must go)."""

import pytest

from fuzz import ahci, disk, elf, syscalls
from fuzz.common import corpus_entries

FUZZERS = {'elf': elf, 'disk': disk, 'syscalls': syscalls, 'ahci': ahci}


def entries():
    for name, module in FUZZERS.items():
        for path, meta in corpus_entries(name):
            marks = [pytest.mark.xfail(reason=meta['xfail'], strict=True)] if 'xfail' in meta else []
            yield pytest.param(module, path, meta, id=f'{name}/{path.stem}', marks=marks)


@pytest.mark.parametrize('module,path,meta', list(entries()))
def test_corpus_entry_runs_without_a_kernel_exception(userland, module, path, meta):
    from fuzz.common import guarded
    outcome = guarded(module.replay, path, meta)
    assert 'FINDING' not in outcome
