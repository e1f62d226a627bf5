"""`python -m kernel.trace.gdbwait PORT PID`: wait until ukern's gdb stub listens on PORT.

`make gdb` starts `ukern run --gdb PORT` in the background and gdb after it; gdb must not
connect before the stub listens, and a connection made only to find out would be taken
for gdb's (the stub serves one).  So this looks at the host's table of listening TCP
sockets (/proc/net/tcp) instead, until process PID, the ukern that was to listen, holds
a socket listening on the port (status 0) or has ended (status 1: it said why, e.g. the
port is in use).
"""

import os
import sys
import time

TCP_LISTEN = 0x0A              # the `st` column of /proc/net/tcp (include/net/tcp_states.h)
POLL_SECONDS = 0.02


def listening(port: int, pid: int) -> bool:
    """Does process `pid` hold a socket listening on `port`?  (Another one may: then the
    stub cannot listen there, and says so.)"""
    inodes = set()
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if int(fields[1].rsplit(':', 1)[1], 16) == port and int(fields[3], 16) == TCP_LISTEN:
                inodes.add(f'socket:[{fields[9]}]')
    if not inodes:
        return False
    try:
        fds = os.listdir(f'/proc/{pid}/fd')
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(f'/proc/{pid}/fd/{fd}') in inodes:
                return True
        except OSError:
            continue
    return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:                       # a zombie (ended, not yet waited for) is not alive either
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return True


def main(argv: list[str]) -> int:
    port, pid = int(argv[0]), int(argv[1])
    while not listening(port, pid):
        if not alive(pid):
            return 1
        time.sleep(POLL_SECONDS)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
