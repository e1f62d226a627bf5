"""objstore: look at the object store of a ukern disk image.

    ukern objstore list IMAGE [--partition 2]
    ukern objstore check IMAGE [--partition 2]

`list` prints the store's ranges (start OID, end OID, drive, start LBA, kind) and how many
objects of each are in use.  `check` verifies the whole store (kernel/obj/verify.py): the
header and ranges, the commit records and the log of the last committed checkpoint, the
maps, every allocated object against its checksum, every node's slots; it prints the
committed checkpoint's sequence number, one line per problem, and exits 1 if there is any.
Neither writes to the image: a checkpoint committed but not yet copied home is read from
the log, as the next boot will copy it.  The store is partition 2 of a disk made by
`ukern mkdisk`.
"""

import sys

from kernel.obj.layout import ObjectKind
from kernel.obj.store import partition_device
from kernel.obj.store import open as open_store

COLUMNS = ("start OID", "end OID", "drive", "start LBA", "kind", "sectors", "objects", "in use")


def list_store(image, partition: int = 2, out=None) -> None:
    out = out or sys.stdout
    with partition_device(image, partition, readonly=True) as dev:
        stats = open_store(dev, replay=False).stats()
    print(f"{image}: object store in partition {partition}: {stats.total_sectors} sectors, "
          f"generation {stats.generation}, checkpoint {stats.sequence}, {len(stats.ranges)} ranges",
          file=out)
    rows = [COLUMNS] + [(f"{r.start_oid:#x}", f"{r.end_oid:#x}", str(r.drive), str(r.start_lba),
                         r.kind.name, str(r.object_sectors), str(r.count), str(r.in_use))
                        for r in stats.ranges]
    widths = [max(len(row[column]) for row in rows) for column in range(len(COLUMNS))]
    for row in rows:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip(), file=out)
    print("  (end OID is exclusive; LBAs count 512-byte sectors from the partition's start)", file=out)
    for kind in ObjectKind:
        print(f"{kind.name.lower()}s: {stats.in_use[kind]} of {stats.capacity[kind]} in use", file=out)


def check_store(image, partition: int = 2, out=None, err=None) -> int:
    """0 if the store is consistent; else 1, with one line on `err` per problem."""
    from kernel.obj.verify import problems
    out, err = out or sys.stdout, err or sys.stderr
    with partition_device(image, partition, readonly=True) as dev:
        store = open_store(dev, replay=False)
        found = problems(store)
        away = sum(dev.read(lba, len(data) // 512) != data for lba, data in store.overlay.items())
    stats = store.stats()
    for line in found:
        print(f"ukern objstore: {image}: {line}", file=err)
    state = "consistent" if not found else f"{len(found)} problems"
    print(f"{image}: {state}: committed checkpoint {store.sequence} ({store.replayed} log entries, "
          f"{away} not yet home: the next boot copies them); {stats.in_use[ObjectKind.PAGE]} pages "
          f"and {stats.in_use[ObjectKind.NODE]} nodes in use", file=out)
    return 1 if found else 0


def main(argv: list[str] | None = None) -> int:
    from kernel.cmdline import Parser
    parser = Parser(prog="ukern objstore", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    for name, text in (("list", "print the ranges and the objects in use"),
                       ("check", "verify the store; exit 1 on any inconsistency")):
        action = sub.add_parser(name, help=text)
        action.add_argument("image", help="disk image made by `ukern mkdisk`")
        action.add_argument("--partition", type=int, default=2,
                            help="partition holding the store (default %(default)s)")
    args = parser.parse_args(argv)
    try:
        if args.action == "check":
            return check_store(args.image, args.partition)
        list_store(args.image, args.partition)
    except (ValueError, OSError) as err:          # ObjectStoreError is a ValueError
        why = err.strerror if isinstance(err, OSError) and err.strerror else err
        print(f"ukern objstore: {args.image}: {why}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
