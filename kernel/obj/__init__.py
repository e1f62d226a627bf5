"""The persistent object store (EROS-style): pages and nodes named by OIDs.

layout.py holds the on-disk records (header, range table, node, capability); store.py
formats, opens, allocates and reads/writes objects on a sector device.
"""
