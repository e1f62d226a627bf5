"""objstore: look at the object store of a ukern disk image.

    ukern objstore list IMAGE [--partition 2]

`list` prints the store's ranges (start OID, end OID, drive, start LBA, kind) and how many
objects of each are in use.  The store is partition 2 of a disk made by `ukern mkdisk`.
"""

import sys

from kernel.obj.layout import ObjectKind
from kernel.obj.store import partition_device
from kernel.obj.store import open as open_store

COLUMNS = ("start OID", "end OID", "drive", "start LBA", "kind", "sectors", "objects", "in use")


def list_store(image, partition: int = 2, out=None) -> None:
    out = out or sys.stdout
    with partition_device(image, partition, readonly=True) as dev:
        stats = open_store(dev).stats()
    print(f"{image}: object store in partition {partition}: {stats.total_sectors} sectors, "
          f"generation {stats.generation}, {len(stats.ranges)} ranges", file=out)
    rows = [COLUMNS] + [(f"{r.start_oid:#x}", f"{r.end_oid:#x}", str(r.drive), str(r.start_lba),
                         r.kind.name, str(r.object_sectors), str(r.count), str(r.in_use))
                        for r in stats.ranges]
    widths = [max(len(row[column]) for row in rows) for column in range(len(COLUMNS))]
    for row in rows:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip(), file=out)
    print("  (end OID is exclusive; LBAs count 512-byte sectors from the partition's start)", file=out)
    for kind in ObjectKind:
        print(f"{kind.name.lower()}s: {stats.in_use[kind]} of {stats.capacity[kind]} in use", file=out)


def main(argv: list[str] | None = None) -> int:
    from kernel.cmdline import Parser
    parser = Parser(prog="ukern objstore", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    lister = sub.add_parser("list", help="print the ranges and the objects in use")
    lister.add_argument("image", help="disk image made by `ukern mkdisk`")
    lister.add_argument("--partition", type=int, default=2,
                        help="partition holding the store (default %(default)s)")
    args = parser.parse_args(argv)
    try:
        list_store(args.image, args.partition)
    except (ValueError, OSError) as err:          # ObjectStoreError is a ValueError
        why = err.strerror if isinstance(err, OSError) and err.strerror else err
        print(f"ukern objstore: {args.image}: {why}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
