"""Kernel-level tests of the memory mechanisms the seeds are about, each written so that the
mutation of fuzz/mutate.py that breaks the mechanism makes it fail: the Accessed bits the
CPU sets reach the replacement policy, a CPU store during a page-out sets the Dirty bit
(through the page table, not a stale TLB entry) and keeps the page, and a frame under DMA
is pinned where reclaim would look for victims."""

from conftest import boot, GuestRun

HOT = 0x2000_0000_0000
COLD = 0x2000_0010_0000


def spawn(kernel, userland, program, *args):
    path = userland / program
    return kernel.spawn(path.read_bytes(), [str(path).encode()] + [a.encode() for a in args], [])


def test_the_policy_keeps_the_page_the_guest_keeps_touching(userland, tmp_path):
    """A scan of 40 MiB through 24 MiB of RAM, reading a hot page between every two scanned
    pages: CLOCK sees the hot page's Accessed bit set each time round and never evicts it
    (one fault at it: the first touch), while the cold page, written once, is swapped out."""
    from kernel.mm.pagetable import P, SWAP
    kernel, out, log = boot(mem=24 << 20, swap=tmp_path / 'swap.img')
    faults = []
    kernel.trace.subscribe(lambda e: faults.append(e.args['addr'] & ~0xFFF) if e.kind == 'fault' else None)
    p = spawn(kernel, userland, 'tests/abits_hot', '40')
    kernel.run()                     # returns once the program waits in pause() for ever
    text = bytes(out).decode()
    assert '(abits_hot) scan done' in text and 'FAIL' not in text, text
    assert kernel.vmstat['pswpout'] > 1000
    assert faults.count(HOT) == 1, f'the hot page faulted {faults.count(HOT)} times: it was evicted'
    assert p.aspace.pt.lookup(HOT) & P
    assert p.aspace.pt.lookup(COLD) & SWAP, 'the cold page was never evicted'
    kernel.kill(p, 9)


def test_a_cpu_store_during_the_page_out_keeps_the_page_resident_and_dirty(userland, tmp_path):
    """Seed 004 with the write done by the guest's own stores: the page-out clears the
    Dirty bit (and the TLB), the guest keeps storing while the DMA runs, and at completion
    the Dirty bit set by the CPU makes the page-out count as not done."""
    from kernel.mm.pagetable import P, D, SWAP, ADDR_MASK
    kernel, out, log = boot(mem=24 << 20, swap=tmp_path / 'swap.img')
    p = spawn(kernel, userland, 'tests/store_loop')
    reclaim = kernel.reclaim
    seen = {}

    def start_page_out():
        pte = p.aspace.pt.lookup(HOT)
        if not pte & P:
            kernel.clock.schedule(kernel.clock.now + 1_000_000, start_page_out)
            return
        frame = seen['frame'] = pte & ADDR_MASK
        assert reclaim._evict(frame)
        if reclaim._flush:                     # as Reclaimer.balance ends
            kernel.cpu.flush_tlb()
        kernel.clock.schedule(kernel.clock.now + 1_000_000, look_when_done)

    def look_when_done():
        if seen['frame'] in reclaim.inflight:
            kernel.clock.schedule(kernel.clock.now + 1_000_000, look_when_done)
            return
        seen['pte'] = p.aspace.pt.lookup(HOT)
        kernel.user(p).write(HOT + 8, b'\1')       # the guest may stop now
    kernel.clock.schedule(kernel.clock.now + 5_000_000, start_page_out)
    kernel.run()
    r = GuestRun(p.exit_status, bytes(out), log, kernel)
    assert '(store_loop) end' in r.text and 'FAIL' not in r.text, r.text
    pte = seen['pte']
    assert pte & P and not pte & SWAP, 'the page went to swap although the guest wrote it meanwhile'
    assert pte & D
    assert kernel.vmstat['pageout_redirtied'] == 1


def test_frames_under_an_asynchronous_write_are_pinned_out_of_reclaims_reach(disk):
    """ukern_awrite DMAs from the process's own frames: while each page is on its way to
    the disk its frame is pinned, so reclaim cannot choose it."""
    kernel, out, log = boot(disk=disk)
    checked = []

    def at_awrite(e):
        if e.kind != 'aio' or e.args['what'] != 'awrite':
            return
        for page in kernel.aio.requests[e.args['request']].pages:
            if not page.done:
                checked.append((page.frame, kernel.frames.pinned(page.frame),
                                kernel.reclaim.can_evict(page.frame)))
    kernel.trace.subscribe(at_awrite)
    p = kernel.spawn(kernel.read_guest_file(b'/tests/aio'), [b'aio', b'write', b'/written', b'8'], [])
    kernel.run()
    kernel.shutdown()
    assert '(aio) end' in bytes(out).decode() and p.exit_status == 0, bytes(out)
    assert len(checked) == 8, checked
    for frame, pinned, evictable in checked:
        assert pinned, f'frame {frame:#x} is under DMA but not pinned'
        assert not evictable, f'reclaim could choose frame {frame:#x} under DMA'
