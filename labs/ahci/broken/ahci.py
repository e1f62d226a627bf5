"""An AHCI lab solution with one known mistake, for the grader's own test
(tests/test_labs.py): merge joins adjacent requests whatever their direction, so a read
and a write that touch go out as one command -- in the direction of the first, and the
other request's data goes the wrong way (the handout: "grow the command with requests of
the same direction").  The bottom half is ukern's own (taken from the driver as it was
before the lab rebound it), so only the merge is wrong.
"""

from kernel.dev.ahci import AhciDriver

_interrupt = AhciDriver.interrupt              # the reference bottom half (not rebound yet
_port_interrupt = AhciDriver._port_interrupt   # when this file is loaded)


def interrupt(self) -> None:
    return _interrupt(self)


def port_interrupt(self, state, pis: int) -> list:
    return _port_interrupt(self, state, pis)


def merge(self, first, chosen, candidates, max_segments, max_sectors) -> None:
    by_start, by_end = {}, {}
    for r in candidates:
        if r is not first and not r.solo:          # the mistake: no r.write == first.write
            by_start.setdefault(r.lba, r)
            by_end.setdefault(r.end, r)
    segments, sectors = len(first.segments), first.sectors
    taken = {id(first)}

    def take(r) -> bool:
        nonlocal segments, sectors
        if r is None or id(r) in taken or segments + len(r.segments) > max_segments \
                or sectors + r.sectors > max_sectors:
            return False
        taken.add(id(r))
        segments += len(r.segments)
        sectors += r.sectors
        return True

    while take(by_end.get(chosen[0].lba)):
        chosen.insert(0, by_end[chosen[0].lba])
    while take(by_start.get(chosen[-1].end)):
        chosen.append(by_start[chosen[-1].end])
