"""A guest workload's reference string, as a kernel's reclaim scanner sees it.

Runs a guest program and, every SAMPLE_NS of virtual time, walks the running process's page
table: each present page with the Accessed bit set is one reference (in address order); the
bit is cleared and the TLB flushed so that the CPU sets it again on the next access.  The
concatenated samples are a trace for kernel.mm.policy.simulate.
"""

from pathlib import Path

SAMPLE_NS = 3000


def sampled_trace(program: Path, sample_ns: int = SAMPLE_NS) -> tuple[list[int], object]:
    from gradelib import boot
    from kernel.mm.pagetable import A, USER_TOP
    from kernel.proc.process import State
    k, out, log = boot()
    trace: list[int] = []

    def sample():
        p = k.current
        if p is not None and p.state is not State.ZOMBIE:
            for va, pte in list(p.aspace.pt.present_pages(0, USER_TOP)):
                if pte & A:
                    trace.append(va)
                    p.aspace.pt.update(va, pte & ~A)
            k.cpu.flush_tlb()
        if any(q.state is not State.ZOMBIE for q in k.procs.values()):
            k.clock.schedule_in(sample_ns, sample)

    proc = k.spawn(program.read_bytes(), [program.name.encode()], [])
    k.clock.schedule_in(sample_ns, sample)
    k.run()
    return trace, (proc, out, log)
