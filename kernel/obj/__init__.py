"""The persistent object store (EROS-style): pages and nodes named by OIDs.

layout.py holds the on-disk records (header, range table, node, capability); store.py
formats, opens (recovering the last checkpoint), allocates and reads/writes objects on a
sector device; log.py is the checkpoint log's format, checkpoint.py the kernel's
checkpoints, verify.py `ukern objstore check`, calls.py the capability calls'
work (kernel/sys/objsys.py).
"""
