"""User and group ids: get*id, set*id, getres*id, setfs*id, getgroups, setgroups.

ukern has one user, root, but answers as Linux does: each process keeps real, effective,
saved and file-system ids (proc/resources.py: Creds, copied at fork), a process whose
effective uid is 0 holds CAP_SETUID and CAP_SETGID and may set any id, and one that has
given up root may only move between the ids it has (credentials(7)).  Nothing checks
these ids against file owners: they are what the process reads back.
"""

import struct

from ..errno import Errno

NO_CHANGE = 0xFFFF_FFFF          # (uid_t)-1: leave this id as it is
NGROUPS_MAX = 65536


def _ids(p, kind: str) -> tuple[int, int, int]:
    c = p.creds
    return getattr(c, 'r' + kind), getattr(c, 'e' + kind), getattr(c, 's' + kind)


def _privileged(p) -> bool:
    return p.creds.euid == 0


def _set(p, kind: str, real: int, effective: int, saved: int) -> None:
    c = p.creds
    setattr(c, 'r' + kind, real)
    setattr(c, 'e' + kind, effective)
    setattr(c, 's' + kind, saved)
    setattr(c, 'fs' + kind, effective)       # the file-system id follows the effective one


def _allowed(p, kind: str, *wanted: int) -> bool:
    """May p take each of these ids (NO_CHANGE aside)?"""
    have = _ids(p, kind)
    return _privileged(p) or all(w == NO_CHANGE or w in have for w in wanted)


# -- reading -------------------------------------------------------------------------------
def sys_getuid(k, p) -> int:
    return p.creds.ruid


def sys_geteuid(k, p) -> int:
    return p.creds.euid


def sys_getgid(k, p) -> int:
    return p.creds.rgid


def sys_getegid(k, p) -> int:
    return p.creds.egid


def sys_getresuid(k, p, ruid: int, euid: int, suid: int) -> int:
    return _write_res(k, p, 'uid', ruid, euid, suid)


def sys_getresgid(k, p, rgid: int, egid: int, sgid: int) -> int:
    return _write_res(k, p, 'gid', rgid, egid, sgid)


def _write_res(k, p, kind: str, *addrs: int) -> int:
    mem = k.user(p)
    for addr, value in zip(addrs, _ids(p, kind)):
        mem.write(addr, struct.pack('<I', value))
    return 0


# -- setting -------------------------------------------------------------------------------
def _setid(p, kind: str, new: int) -> int:
    """setuid/setgid: root sets all three; others only the effective id, to one they have."""
    new &= NO_CHANGE
    if new == NO_CHANGE:
        return -Errno.EINVAL
    real, _, saved = _ids(p, kind)
    if _privileged(p):
        _set(p, kind, new, new, new)
    elif new in (real, saved):
        _set(p, kind, real, new, saved)
    else:
        return -Errno.EPERM
    return 0


def _setreid(p, kind: str, real: int, effective: int) -> int:
    real, effective = real & NO_CHANGE, effective & NO_CHANGE
    old_real, old_eff, old_saved = _ids(p, kind)
    if not _allowed(p, kind, real, effective):
        return -Errno.EPERM
    new_real = old_real if real == NO_CHANGE else real
    new_eff = old_eff if effective == NO_CHANGE else effective
    # the saved id follows the effective one when the real id is set, or the effective
    # one becomes something other than the old real id (setreuid(2))
    changes_saved = real != NO_CHANGE or (effective != NO_CHANGE and effective != old_real)
    _set(p, kind, new_real, new_eff, new_eff if changes_saved else old_saved)
    return 0


def _setresid(p, kind: str, real: int, effective: int, saved: int) -> int:
    wanted = [x & NO_CHANGE for x in (real, effective, saved)]
    if not _allowed(p, kind, *wanted):
        return -Errno.EPERM
    _set(p, kind, *[old if w == NO_CHANGE else w for w, old in zip(wanted, _ids(p, kind))])
    return 0


def _setfsid(p, kind: str, new: int) -> int:
    """Returns the previous file-system id whether or not it changed (setfsuid(2))."""
    old = getattr(p.creds, 'fs' + kind)
    new &= NO_CHANGE
    if new != NO_CHANGE and (_privileged(p) or new in _ids(p, kind)):
        setattr(p.creds, 'fs' + kind, new)
    return old


def sys_setuid(k, p, uid: int) -> int:
    return _setid(p, 'uid', uid)


def sys_setgid(k, p, gid: int) -> int:
    return _setid(p, 'gid', gid)


def sys_setreuid(k, p, ruid: int, euid: int) -> int:
    return _setreid(p, 'uid', ruid, euid)


def sys_setregid(k, p, rgid: int, egid: int) -> int:
    return _setreid(p, 'gid', rgid, egid)


def sys_setresuid(k, p, ruid: int, euid: int, suid: int) -> int:
    return _setresid(p, 'uid', ruid, euid, suid)


def sys_setresgid(k, p, rgid: int, egid: int, sgid: int) -> int:
    return _setresid(p, 'gid', rgid, egid, sgid)


def sys_setfsuid(k, p, fsuid: int) -> int:
    return _setfsid(p, 'uid', fsuid)


def sys_setfsgid(k, p, fsgid: int) -> int:
    return _setfsid(p, 'gid', fsgid)


# -- supplementary groups ------------------------------------------------------------------
def sys_getgroups(k, p, size: int, addr: int) -> int:
    groups = p.creds.groups
    size &= NO_CHANGE
    if size == 0:
        return len(groups)
    if size > NGROUPS_MAX or size < len(groups):
        return -Errno.EINVAL
    if groups:
        k.user(p).write(addr, struct.pack(f'<{len(groups)}I', *groups))
    return len(groups)


def sys_setgroups(k, p, size: int, addr: int) -> int:
    size &= NO_CHANGE
    if size > NGROUPS_MAX:
        return -Errno.EINVAL
    if not _privileged(p):
        return -Errno.EPERM
    data = k.user(p).read(addr, 4 * size) if size else b''
    p.creds.groups = sorted(set(struct.unpack(f'<{size}I', data)))
    return 0
