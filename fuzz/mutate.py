"""Mutation testing of the memory mechanisms the seeds are about (`make mutate`): each
mutation below breaks one mechanism on purpose (A/D bits, copy-on-write, pinning during
DMA, the Dirty re-check after a page-out, per-page blocking), the tests named with it must
then FAIL.  A mutation that no test catches shows where the suite is blind.

  python -m fuzz.mutate [--only NAME,...] [--report PATH]

A mutation is a text replacement in one kernel module, applied as the module is imported
(fuzz/mutant.py, a pytest plugin that `-p fuzz.mutant` loads with UKERN_MUTATION=NAME): the
source tree is never changed, and a replacement whose text is no longer in the module is
reported as stale rather than silently doing nothing.  Only tests that run the kernel in
the pytest process see the mutation (not those that start `python -m kernel`).  The table
of results goes to bench/MUTATIONS.md.
"""

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = 'UKERN_MUTATION'
LOADED_MARK = 'ukern mutant loaded:'     # fuzz/mutant.py's last line: the mutated modules imported
TIMEOUT_S = 900


@dataclass(frozen=True)
class Mutation:
    name: str
    mechanism: str
    edits: tuple[tuple[str, str, str], ...]    # (kernel module, text in it, what it becomes)
    tests: tuple[str, ...]                     # pytest node ids that must fail

    @property
    def modules(self) -> set[str]:
        return {module for module, _, _ in self.edits}


def module_path(module: str) -> Path:
    return ROOT / (module.replace('.', '/') + '.py')


MM = 'tests/test_mm_mechanisms.py::'
MUTATIONS = (
    Mutation('abits-ignored', 'A bits: the policy never sees an Accessed bit',
             (('kernel.mm.reclaim', 'return any(pte & A for _, _, pte in self._ptes(frame))', 'return False'),),
             (MM + 'test_the_policy_keeps_the_page_the_guest_keeps_touching',)),
    Mutation('cow-shared-write', 'COW break skipped: a write reuses the shared frame',
             (('kernel.mm.fault', '    if frames.refs(old) == 1:\n        aspace.pt.map(va, old, flags)',
               '    if True:\n        aspace.pt.map(va, old, flags)'),),
             ('tests/test_processes.py::test_guest_program[fork_cow]',
              'tests/test_memory.py::test_copy_on_write_pages_survive_swapping')),
    Mutation('cow-half-copy', 'COW break copies wrong: half the page',
             (('kernel.mm.fault', 'frames.memory.copy(new, old, PAGE_SIZE)', 'frames.memory.copy(new, old, PAGE_SIZE // 2)'),),
             ('tests/test_processes.py::test_guest_program[fork_cow]',)),
    Mutation('dma-unpinned', 'pinning during DMA skipped (the block queue\'s pins and ukern_awrite\'s)',
             (('kernel.dev.blk', 'req._pinned = req.page_runs()', 'req._pinned = []'),
              ('kernel.mm.aio', '            k.frames.pin(frame)\n            k.frames.share(frame)',
               '            k.frames.share(frame)'),
              ('kernel.mm.aio', '        page.done = True\n        k.frames.unpin(page.frame)\n        k.frames.release(page.frame)',
               '        page.done = True\n        k.frames.release(page.frame)')),
             (MM + 'test_frames_under_an_asynchronous_write_are_pinned_out_of_reclaims_reach',)),
    Mutation('no-dirty-recheck', 'the Dirty re-check after a page-out skipped',
             (('kernel.mm.reclaim', 'if req.error or out.redirtied or any(pte & D for _, _, pte in ptes):',
               'if req.error or out.redirtied:'),),
             (MM + 'test_a_cpu_store_during_the_page_out_keeps_the_page_resident_and_dirty',
              'tests/test_memory.py::test_a_page_written_during_its_page_out_stays_resident_and_dirty')),
    Mutation('no-tlb-flush-at-pageout', 'Dirty bits cleared for a page-out without a TLB flush',
             (('kernel.mm.reclaim', '            aspace.pt.update(va, pte & ~D)      # seed 004: was it written during the write?\n'
               '        self._flush = True\n',
               '            aspace.pt.update(va, pte & ~D)\n'),),
             (MM + 'test_a_cpu_store_during_the_page_out_keeps_the_page_resident_and_dirty',)),
    Mutation('aio-whole-request-wait', 'per-page blocking: a touch of a page under aio read waits for the whole request',
             (('kernel.mm.fault', '    return FaultResult(Action.WAIT, queue=page.waiters)',
               '    return FaultResult(Action.WAIT, queue=next(r.done for r in frames.aio.requests.values() if page in r.pages))'),),
             ('tests/test_aio.py::test_touching_page_k_waits_for_page_k_only',)),
    Mutation('swapin-no-page-wait', 'per-page blocking: a fault on a page being swapped in maps it before it arrives',
             (('kernel.mm.fault', '    if cached.request is not None:\n        return FaultResult(Action.WAIT, queue=cached.request.waiters)',
               '    if False:\n        return FaultResult(Action.WAIT, queue=cached.request.waiters)'),),
             ('tests/test_memory.py::test_copy_on_write_pages_survive_swapping',
              'tests/test_memory.py::test_a_page_out_that_completes_leaves_a_swap_entry_and_comes_back')),
    Mutation('swapin-clean', 'a page read back from swap mapped clean: reclaim may drop it as a page of the program image',
             (('kernel.mm.fault', '    flags = region.pte_flags() | D\n', '    flags = region.pte_flags()\n'),),
             ('tests/test_memory.py::test_changed_data_read_back_from_swap_is_not_dropped_as_a_clean_file_page',)),
    Mutation('failed-pageout-clean', 'a failed page-out leaves the Dirty bits it cleared cleared',
             (('kernel.mm.reclaim', '            for aspace, va, pte in ptes:         # the Dirty bits cleared for the write were\n'
               '                aspace.pt.update(va, pte | D)    # all that kept it from being a clean page\n', ''),),
             ('tests/test_memory.py::test_a_page_whose_page_out_failed_keeps_its_dirty_bits',)),
    Mutation('oom-wait-after-kill', 'the OOM killer\'s caller waits for memory its kill already freed',
             (('kernel.mm.reclaim', '        return Oom.RETRY if self.frames.free_count else Oom.WAIT\n',
               '        return Oom.WAIT\n'),),
             ('tests/test_memory.py::test_the_parent_of_children_the_oom_killer_ends_runs_on_with_its_memory',)),
    Mutation('awrite-absent-pages', 'ukern_awrite trusts that every page it faulted in is still present',
             (('kernel.sys.aio', 'if not pt.lookup(va) & P]', 'if False]'),),
             ('tests/test_aio.py::test_an_awrite_from_a_buffer_as_large_as_memory_writes_it_whole_or_is_refused',)),
    Mutation('objects-mapped-kept', 'the object cache drops only pages no process maps',
             (('kernel.obj.objects', 'if frames.pinned(frame) or frames.refs(frame) != 1 + len(mappers):',
               'if mappers or frames.pinned(frame) or frames.refs(frame) != 1:'),),
             ('tests/test_objects.py::test_more_mapped_objects_than_memory_each_load_once_a_pass',)),
    Mutation('objects-abits-ignored', "the object cache's clock never sees an Accessed bit",
             (('kernel.obj.objects', '            if pte & A:\n', '            if False:\n'),),
             ('tests/test_objects.py::test_the_clock_keeps_pages_touched_since_it_last_passed',)),
    Mutation('mapped-file-pages-kept', 'reclaim never unmaps a clean mapped file page',
             (('kernel.mm.reclaim', '        found = None\n        for aspace, va in mappers:\n',
               '        return None\n        found = None\n        for aspace, va in mappers:\n'),),
             ('tests/test_memory.py::test_a_mapped_file_larger_than_memory_reads_through_twice',)),
    Mutation('block-read-unheld', 'a block read is not held while its reader waits for it',
             (('kernel.fs.bcache', '        buf.users += 1\n        try:\n            return (yield from req.wait())\n'
               '        finally:\n            buf.users -= 1\n',
               '        return (yield from req.wait())\n'),),
             ('tests/test_bcache.py::test_a_block_read_is_not_dropped_before_its_reader_runs_again',)),
    Mutation('fault-read-unwanted', "a page fault's read is not marked wanted: reclaim may drop it first",
             (('kernel.mm.fault', 'buf.wanted = True ', 'buf.wanted = False'),),
             ('tests/test_memory.py::test_a_file_page_read_for_a_fault_survives_reclaim_until_its_process_maps_it',)),
    Mutation('read-held-whole', 'a read() holds every block it copies at once',
             (('kernel.fs.bcache', 'return max(1, self.max_blocks // 4)', 'return 1 << 30'),),
             ('tests/test_bcache.py::test_one_read_larger_than_memory_allows_beside_its_buffer_is_whole',)),
    Mutation('oom-no-retry-after-balance', 'a fault is not retried when reclaim freed frames at once',
             (('kernel.mm.reclaim', '        if self.frames.free_count and retry_if_freed:\n            return Oom.RETRY\n        if self.inflight:',
               '        if self.inflight:'),),
             ('tests/test_bcache.py::test_one_read_larger_than_memory_allows_beside_its_buffer_is_whole',)),
    Mutation('no-thrash-guard', 'a fault retried after reclaim never notices it takes back its own page',
             (('kernel.pagefaults', '        if page in p.reclaimed_for:\n            return True\n', ''),),
             ('tests/test_memory.py::test_a_fault_that_reclaim_answers_by_taking_back_its_own_page_is_thrashing',)),
    Mutation('no-file-floor', 'with no swap room, reclaim takes file pages down to none',
             (('kernel.mm.reclaim', 'return frame in self.file_pages and len(self.file_pages) <= self.file_floor',
               'return False and len(self.file_pages) <= self.file_floor'),),
             ('tests/test_memory.py::test_with_no_swap_room_reclaim_keeps_a_floor_of_file_pages',)),
    Mutation('no-frame-is-sigbus', 'a file page whose read found no frame is reported as a read error',
             (('kernel.mm.fault', '        if buf is None and blockno not in cache.bad:    # no frame was free for it\n'
               '            return FaultResult(Action.NO_MEMORY', '        if False:\n            return FaultResult(Action.NO_MEMORY'),),
             ('tests/test_memory.py::test_a_page_fault_that_finds_no_frame_for_a_file_page_is_out_of_memory_not_a_read_error',)),
)
BY_NAME = {m.name: m for m in MUTATIONS}


def mutated_source(m: Mutation, module: str, source: str) -> str:
    """The module's source with m's edits to it applied; ValueError if an edit's text is not
    in it exactly once (the kernel changed: the mutation list must follow)."""
    for where, old, new in m.edits:
        if where != module:
            continue
        if source.count(old) != 1:
            raise ValueError(f'mutation {m.name}: {module} holds its text {source.count(old)} times, not once')
        source = source.replace(old, new)
    return source


def stale(m: Mutation) -> str:
    """Why m no longer applies ('' when it does)."""
    try:
        for module in m.modules:
            mutated_source(m, module, module_path(module).read_text())
    except (OSError, ValueError) as e:
        return str(e)
    return ''


@dataclass
class Result:
    mutation: Mutation
    caught: str            # 'yes', 'NO', or why it could not run
    seconds: float


def run(m: Mutation, python: str = sys.executable) -> Result:
    """Run m's tests with m applied: caught when pytest reports failures."""
    why = stale(m)
    if why:
        return Result(m, f'stale: {why}', 0.0)
    env = dict(os.environ, **{ENV: m.name})
    began = time.monotonic()
    try:
        r = subprocess.run([python, '-m', 'pytest', '-q', '-x', '-p', 'fuzz.mutant', *m.tests],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return Result(m, f'timeout after {TIMEOUT_S} s', time.monotonic() - began)
    took = time.monotonic() - began
    loaded = [line for line in r.stdout.splitlines() if line.startswith(LOADED_MARK)]
    if not loaded or set(loaded[-1].rsplit(': ', 1)[1].split(',')) != m.modules:
        return Result(m, 'error: the tests never imported the mutated modules', took)
    if r.returncode == 1:
        return Result(m, 'yes', took)
    if r.returncode == 0:
        return Result(m, 'NO', took)
    return Result(m, f'error (pytest exit {r.returncode}): {r.stdout.strip().splitlines()[-1:]}', took)


def report(results: list[Result]) -> str:
    lines = ['# Mutation testing',
             '',
             'Written by `make mutate` (`python -m fuzz.mutate`): each mutation breaks one memory',
             'mechanism (fuzz/mutate.py says how); "caught" means the tests named with it failed.',
             '',
             '| mutation | mechanism | tests | caught | seconds |',
             '|---|---|---|---|---:|']
    for r in results:
        tests = '<br>'.join(f'`{t}`' for t in r.mutation.tests)
        lines.append(f'| {r.mutation.name} | {r.mutation.mechanism} | {tests} | {r.caught} | {r.seconds:.0f} |')
    caught = sum(r.caught == 'yes' for r in results)
    lines += ['', f'{caught} of {len(results)} mutations caught.', '']
    return '\n'.join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog='python -m fuzz.mutate', description=__doc__.splitlines()[0])
    ap.add_argument('--only', help='comma-separated mutation names')
    ap.add_argument('--report', default=str(ROOT / 'bench' / 'MUTATIONS.md'))
    args = ap.parse_args(argv)
    chosen = [BY_NAME[n] for n in args.only.split(',')] if args.only else list(MUTATIONS)
    results = []
    for m in chosen:
        r = run(m)
        print(f'mutate: {m.name}: caught {r.caught} ({r.seconds:.0f} s)', flush=True)
        results.append(r)
    if not args.only:
        Path(args.report).write_text(report(results))
    return 0 if all(r.caught == 'yes' for r in results) else 1


if __name__ == '__main__':
    sys.exit(main())
