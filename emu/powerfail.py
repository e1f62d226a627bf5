"""The power switch: cut the machine's power at a chosen disk command, for crash testing.

SQLite's crash tests and the Linux dm-log-writes tool ask the same question: after power is
lost in the middle of a workload, is what is on the disk consistent?  Here the cut is named
by a count, so that it is deterministic and a failing case can be replayed: with
`--power-fail N`, the power fails when the disks together (every controller, every port,
the swap disk too) start their Nth data transfer, counted in the order the commands start.

What the disks hold afterwards is what a real disk would hold:
  * every transfer that completed before the cut is on the media;
  * the Nth command, when it is a write, reaches the media for the first half of its
    sectors only (whole sectors: a sector write is atomic on a disk with power-loss
    protection, a multi-sector one is not), a torn write;
  * a command that started earlier but had not completed moves nothing;
  * nothing after: the kernel does not get to write back its caches or sync at shutdown,
    because the cut leaves the run loop by an exception that is not an Exception
    (PowerFailed is a BaseException, like KeyboardInterrupt), so the kernel's containment
    of its own bugs never swallows it.

A controller calls `transfer_starting()` as each transfer starts; it answers whether that
transfer is the one during which the power fails.  The controller then moves the torn part
and calls `fail()`.
"""


class PowerFailed(BaseException):
    """The machine lost power: leave everything as it is, now."""

    def __init__(self, command: int):
        super().__init__(f'power failed at disk command {command}')
        self.command = command


class PowerSwitch:
    def __init__(self, cut_at: int | None = None):
        if cut_at is not None and cut_at < 1:
            raise ValueError(f'the power can fail at disk command 1 or later, not {cut_at}')
        self.cut_at = cut_at
        self.transfers = 0              # data transfers started so far, every disk together

    def transfer_starting(self) -> bool:
        """Count one more transfer; True if the power fails while it runs."""
        self.transfers += 1
        return self.transfers == self.cut_at

    @staticmethod
    def torn_sectors(count: int) -> int:
        """How many of the cut write's `count` sectors reach the media."""
        return count // 2

    def fail(self) -> None:
        raise PowerFailed(self.transfers)
