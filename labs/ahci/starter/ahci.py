"""Lab ahci: the AHCI driver's bottom half and the elevator's merge.  `ukern lab start ahci`
copied this file to labs/ahci/student/ahci.py; while the lab is active

    kernel.dev.ahci.AhciDriver.interrupt        is  interrupt(self) below
    kernel.dev.ahci.AhciDriver._port_interrupt  is  port_interrupt(self, state, pis) below
    kernel.dev.blk.BlockQueue._merge            is  merge(self, first, chosen, ...) below

Everything else of the driver (probe, the top half that builds and issues commands, port
recovery in self._recover, completion in self._complete) is ukern's.  Read
labs/ahci/README.md, then the docstrings of kernel/dev/ahci.py and kernel/dev/blk.py.
Register names and bits: emu/ahci.py (HostReg, PortReg, PortIS, PORT_IS_FATAL, ...).
"""



def interrupt(self) -> None:
    """The HBA raised its interrupt line (kernel.irq_handlers[IRQ_AHCI])."""
    self.interrupts += 1
    # TODO: read the global IS register; for each port whose bit is set, read and clear
    # (write back) its PxIS and collect what self.port_interrupt(state, pis) finished; clear
    # IS (write back the bits you read); then complete every finished command
    # (self._complete(state, cmd, error)) and let the top half issue queued work
    # (self._dispatch(state) for every port).  Until then the line stays raised and
    # nothing ever completes: the probe's IDENTIFY waits forever.


def port_interrupt(self, state, pis: int) -> list:
    """Port `state.index` interrupted with PxIS = pis.  Returns [(state, cmd, error)] for
    the commands that finished: error 0, or -Errno.EIO for a command that failed."""
    # TODO: a slot in state.order whose PxCI bit has cleared has finished: retire it
    # (self._retire(state, slot)).  On a fatal error (pis & PORT_IS_FATAL), PxCMD.CCS names
    # the failed slot (if it does not name a pending one, the first slot of state.order still
    # set in PxCI failed); retire it, count it (self.errors), restart the port
    # (self._recover(state)), and either fail it with -EIO -- recording cmd.ata_status /
    # cmd.ata_error from PxTFD and cmd.fail_lba from the D2H FIS at state.fb + RFIS_D2H --
    # or, when it carried several merged requests, put each back on the queue alone
    # (r.solo = True; state.disk.queue.requeue(r)) so that only the bad one fails.
    return []


def merge(self, first, chosen, candidates, max_segments, max_sectors) -> None:
    """Grow `chosen` (now [first]) with pending requests of first's direction whose sectors
    continue the command on either side, within max_segments segments and max_sectors
    sectors in all.  `candidates` are the pending requests that may go, in (lba, seq) order;
    leave out the ones marked solo."""
    # TODO: back merges (a request ending where chosen[0] starts goes in front), then front
    # merges (one starting where chosen[-1] ends goes behind), as long as the limits allow.
    return None
