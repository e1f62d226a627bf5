"""The names strace prints for numbers: flag bits, commands, signals, clocks.

Values are Linux x86-64's (include/uapi/...), whether or not ukern implements the
feature: a trace should name what a program asked for even when the answer is EINVAL.
Flag tables are lists of (bits, name) tried in order (a multi-bit name such as O_SYNC
comes before the bit it contains); value tables are dicts.  decode.py uses them.
"""

# -- files (asm-generic/fcntl.h, linux/fcntl.h) ------------------------------------------------
O_ACCMODE = {0: 'O_RDONLY', 1: 'O_WRONLY', 2: 'O_RDWR', 3: 'O_ACCMODE'}
O_FLAGS = [(0o100, 'O_CREAT'), (0o200, 'O_EXCL'), (0o400, 'O_NOCTTY'), (0o1000, 'O_TRUNC'),
           (0o2000, 'O_APPEND'), (0o4000, 'O_NONBLOCK'), (0o4010000, 'O_SYNC'),
           (0o10000, 'O_DSYNC'), (0o20000, 'O_ASYNC'), (0o40000, 'O_DIRECT'),
           (0o100000, 'O_LARGEFILE'), (0o200000, 'O_DIRECTORY'), (0o400000, 'O_NOFOLLOW'),
           (0o1000000, 'O_NOATIME'), (0o2000000, 'O_CLOEXEC'), (0o20200000, 'O_TMPFILE'),
           (0o10000000, 'O_PATH')]
O_CREAT = 0o100
O_TMPFILE = 0o20200000
AT_FDCWD = -100
AT_FLAGS = [(0x100, 'AT_SYMLINK_NOFOLLOW'), (0x200, 'AT_REMOVEDIR'), (0x400, 'AT_SYMLINK_FOLLOW'),
            (0x800, 'AT_NO_AUTOMOUNT'), (0x1000, 'AT_EMPTY_PATH'), (0x2000, 'AT_STATX_FORCE_SYNC'),
            (0x4000, 'AT_STATX_DONT_SYNC')]
AT_STATX_SYNC_AS_STAT = 'AT_STATX_SYNC_AS_STAT'      # statx's "0"
ACCESS_MODES = [(4, 'R_OK'), (2, 'W_OK'), (1, 'X_OK')]
WHENCE = {0: 'SEEK_SET', 1: 'SEEK_CUR', 2: 'SEEK_END', 3: 'SEEK_DATA', 4: 'SEEK_HOLE'}
RENAME_FLAGS = [(1, 'RENAME_NOREPLACE'), (2, 'RENAME_EXCHANGE'), (4, 'RENAME_WHITEOUT')]
FALLOC_FLAGS = [(1, 'FALLOC_FL_KEEP_SIZE'), (2, 'FALLOC_FL_PUNCH_HOLE'), (8, 'FALLOC_FL_COLLAPSE_RANGE'),
                (0x10, 'FALLOC_FL_ZERO_RANGE'), (0x20, 'FALLOC_FL_INSERT_RANGE')]
FLOCK_OPS = [(1, 'LOCK_SH'), (2, 'LOCK_EX'), (4, 'LOCK_NB'), (8, 'LOCK_UN')]
FD_FLAGS = [(1, 'FD_CLOEXEC')]
FCNTL = {0: 'F_DUPFD', 1: 'F_GETFD', 2: 'F_SETFD', 3: 'F_GETFL', 4: 'F_SETFL', 5: 'F_GETLK',
         6: 'F_SETLK', 7: 'F_SETLKW', 8: 'F_SETOWN', 9: 'F_GETOWN', 10: 'F_SETSIG', 11: 'F_GETSIG',
         36: 'F_OFD_GETLK', 37: 'F_OFD_SETLK', 38: 'F_OFD_SETLKW', 1024: 'F_SETLEASE',
         1025: 'F_GETLEASE', 1030: 'F_DUPFD_CLOEXEC', 1031: 'F_SETPIPE_SZ', 1032: 'F_GETPIPE_SZ',
         1033: 'F_ADD_SEALS', 1034: 'F_GET_SEALS'}
# What fcntl's third argument is, per command (commands not listed take none).
FCNTL_ARG = {'F_DUPFD': 'int', 'F_DUPFD_CLOEXEC': 'int', 'F_SETFD': 'fdflags', 'F_SETFL': 'oflags',
             'F_SETOWN': 'int', 'F_SETSIG': 'signal', 'F_SETPIPE_SZ': 'int', 'F_SETLEASE': 'int',
             'F_ADD_SEALS': 'hex', 'F_GETLK': 'ptr', 'F_SETLK': 'ptr', 'F_SETLKW': 'ptr',
             'F_OFD_GETLK': 'ptr', 'F_OFD_SETLK': 'ptr', 'F_OFD_SETLKW': 'ptr'}

# st_mode's type bits (linux/stat.h)
S_IFMT = 0o170000
FILE_TYPES = {0o140000: 'S_IFSOCK', 0o120000: 'S_IFLNK', 0o100000: 'S_IFREG', 0o060000: 'S_IFBLK',
              0o040000: 'S_IFDIR', 0o020000: 'S_IFCHR', 0o010000: 'S_IFIFO'}
MODE_BITS = [(0o4000, 'S_ISUID'), (0o2000, 'S_ISGID'), (0o1000, 'S_ISVTX')]
STATX_MASK = [(0x7FF, 'STATX_BASIC_STATS'), (0x1, 'STATX_TYPE'), (0x2, 'STATX_MODE'),
              (0x4, 'STATX_NLINK'), (0x8, 'STATX_UID'), (0x10, 'STATX_GID'), (0x20, 'STATX_ATIME'),
              (0x40, 'STATX_MTIME'), (0x80, 'STATX_CTIME'), (0x100, 'STATX_INO'),
              (0x200, 'STATX_SIZE'), (0x400, 'STATX_BLOCKS'), (0x800, 'STATX_BTIME'),
              (0x1000, 'STATX_MNT_ID'), (0x2000, 'STATX_DIOALIGN')]

# ioctl requests (asm-generic/ioctls.h): the terminal's and the generic file ones.
IOCTLS = {0x5401: 'TCGETS', 0x5402: 'TCSETS', 0x5403: 'TCSETSW', 0x5404: 'TCSETSF',
          0x5409: 'TCSBRK', 0x540A: 'TCXONC', 0x540B: 'TCFLSH', 0x540E: 'TIOCSCTTY',
          0x540F: 'TIOCGPGRP', 0x5410: 'TIOCSPGRP', 0x5413: 'TIOCGWINSZ', 0x5414: 'TIOCSWINSZ',
          0x541B: 'FIONREAD', 0x5421: 'FIONBIO', 0x5422: 'TIOCNOTTY', 0x5429: 'TIOCGSID',
          0x5450: 'FIONCLEX', 0x5451: 'FIOCLEX', 0x5452: 'FIOASYNC', 0x80045430: 'TIOCGPTN',
          0x40045431: 'TIOCSPTLCK', 0x1260: 'BLKGETSIZE', 0x80081272: 'BLKGETSIZE64',
          0x1268: 'BLKSSZGET', 0x80086601: 'FS_IOC_GETFLAGS', 0x40086602: 'FS_IOC_SETFLAGS'}

# -- memory (asm-generic/mman*.h) -----------------------------------------------------------
PROT_FLAGS = [(1, 'PROT_READ'), (2, 'PROT_WRITE'), (4, 'PROT_EXEC'), (0x01000000, 'PROT_GROWSDOWN'),
              (0x02000000, 'PROT_GROWSUP')]
MAP_TYPES = {0x01: 'MAP_SHARED', 0x02: 'MAP_PRIVATE', 0x03: 'MAP_SHARED_VALIDATE'}
MAP_FLAGS = [(0x10, 'MAP_FIXED'), (0x20, 'MAP_ANONYMOUS'), (0x40, 'MAP_32BIT'),
             (0x100, 'MAP_GROWSDOWN'), (0x800, 'MAP_DENYWRITE'), (0x1000, 'MAP_EXECUTABLE'),
             (0x2000, 'MAP_LOCKED'), (0x4000, 'MAP_NORESERVE'), (0x8000, 'MAP_POPULATE'),
             (0x10000, 'MAP_NONBLOCK'), (0x20000, 'MAP_STACK'), (0x40000, 'MAP_HUGETLB'),
             (0x80000, 'MAP_SYNC'), (0x100000, 'MAP_FIXED_NOREPLACE')]
MREMAP_FLAGS = [(1, 'MREMAP_MAYMOVE'), (2, 'MREMAP_FIXED'), (4, 'MREMAP_DONTUNMAP')]
MSYNC_FLAGS = [(1, 'MS_ASYNC'), (2, 'MS_INVALIDATE'), (4, 'MS_SYNC')]
MADVICE = {0: 'MADV_NORMAL', 1: 'MADV_RANDOM', 2: 'MADV_SEQUENTIAL', 3: 'MADV_WILLNEED',
           4: 'MADV_DONTNEED', 8: 'MADV_FREE', 9: 'MADV_REMOVE', 10: 'MADV_DONTFORK',
           11: 'MADV_DOFORK', 12: 'MADV_MERGEABLE', 13: 'MADV_UNMERGEABLE', 14: 'MADV_HUGEPAGE',
           15: 'MADV_NOHUGEPAGE', 16: 'MADV_DONTDUMP', 17: 'MADV_DODUMP', 18: 'MADV_WIPEONFORK',
           19: 'MADV_KEEPONFORK', 20: 'MADV_COLD', 21: 'MADV_PAGEOUT', 22: 'MADV_POPULATE_READ',
           23: 'MADV_POPULATE_WRITE', 100: 'MADV_HWPOISON'}

# -- processes (linux/sched.h, linux/wait.h, asm/prctl.h, linux/prctl.h) -------------------
CLONE_FLAGS = [(0x100, 'CLONE_VM'), (0x200, 'CLONE_FS'), (0x400, 'CLONE_FILES'),
               (0x800, 'CLONE_SIGHAND'), (0x1000, 'CLONE_PIDFD'), (0x2000, 'CLONE_PTRACE'),
               (0x4000, 'CLONE_VFORK'), (0x8000, 'CLONE_PARENT'), (0x10000, 'CLONE_THREAD'),
               (0x20000, 'CLONE_NEWNS'), (0x40000, 'CLONE_SYSVSEM'), (0x80000, 'CLONE_SETTLS'),
               (0x100000, 'CLONE_PARENT_SETTID'), (0x200000, 'CLONE_CHILD_CLEARTID'),
               (0x400000, 'CLONE_DETACHED'), (0x800000, 'CLONE_UNTRACED'),
               (0x1000000, 'CLONE_CHILD_SETTID'), (0x2000000, 'CLONE_NEWCGROUP'),
               (0x4000000, 'CLONE_NEWUTS'), (0x8000000, 'CLONE_NEWIPC'), (0x10000000, 'CLONE_NEWUSER'),
               (0x20000000, 'CLONE_NEWPID'), (0x40000000, 'CLONE_NEWNET'), (0x80000000, 'CLONE_IO')]
CSIGNAL = 0xFF                      # clone's low byte: the signal the parent gets at exit
CLONE_PARENT_SETTID, CLONE_SETTLS = 0x100000, 0x80000
CLONE_CHILD_TID = 0x200000 | 0x1000000
WAIT_OPTIONS = [(1, 'WNOHANG'), (2, 'WUNTRACED'), (4, 'WEXITED'), (8, 'WCONTINUED'),
                (0x1000000, 'WNOWAIT'), (0x20000000, '__WNOTHREAD'), (0x40000000, '__WALL'),
                (0x80000000, '__WCLONE')]
ID_TYPES = {0: 'P_ALL', 1: 'P_PID', 2: 'P_PGID', 3: 'P_PIDFD'}
ARCH_PRCTL = {0x1001: 'ARCH_SET_GS', 0x1002: 'ARCH_SET_FS', 0x1003: 'ARCH_GET_FS',
              0x1004: 'ARCH_GET_GS', 0x1011: 'ARCH_GET_CPUID', 0x1012: 'ARCH_SET_CPUID'}
PRCTL = {1: 'PR_SET_PDEATHSIG', 2: 'PR_GET_PDEATHSIG', 3: 'PR_GET_DUMPABLE', 4: 'PR_SET_DUMPABLE',
         15: 'PR_SET_NAME', 16: 'PR_GET_NAME', 22: 'PR_SET_SECCOMP', 36: 'PR_SET_CHILD_SUBREAPER',
         37: 'PR_GET_CHILD_SUBREAPER', 38: 'PR_SET_NO_NEW_PRIVS', 39: 'PR_GET_NO_NEW_PRIVS',
         0x53564d41: 'PR_SET_VMA'}
RLIMITS = {0: 'RLIMIT_CPU', 1: 'RLIMIT_FSIZE', 2: 'RLIMIT_DATA', 3: 'RLIMIT_STACK', 4: 'RLIMIT_CORE',
           5: 'RLIMIT_RSS', 6: 'RLIMIT_NPROC', 7: 'RLIMIT_NOFILE', 8: 'RLIMIT_MEMLOCK', 9: 'RLIMIT_AS',
           10: 'RLIMIT_LOCKS', 11: 'RLIMIT_SIGPENDING', 12: 'RLIMIT_MSGQUEUE', 13: 'RLIMIT_NICE',
           14: 'RLIMIT_RTPRIO', 15: 'RLIMIT_RTTIME'}
RLIM_INFINITY = (1 << 64) - 1
RUSAGE_WHO = {0: 'RUSAGE_SELF', -1: 'RUSAGE_CHILDREN', 1: 'RUSAGE_THREAD'}
PRIO_WHICH = {0: 'PRIO_PROCESS', 1: 'PRIO_PGRP', 2: 'PRIO_USER'}
SCHED_POLICIES = {0: 'SCHED_OTHER', 1: 'SCHED_FIFO', 2: 'SCHED_RR', 3: 'SCHED_BATCH',
                  5: 'SCHED_IDLE', 6: 'SCHED_DEADLINE'}
GRND_FLAGS = [(1, 'GRND_NONBLOCK'), (2, 'GRND_RANDOM'), (4, 'GRND_INSECURE')]

# -- futexes (linux/futex.h) --------------------------------------------------------------
FUTEX_OPS = {0: 'FUTEX_WAIT', 1: 'FUTEX_WAKE', 2: 'FUTEX_FD', 3: 'FUTEX_REQUEUE',
             4: 'FUTEX_CMP_REQUEUE', 5: 'FUTEX_WAKE_OP', 6: 'FUTEX_LOCK_PI', 7: 'FUTEX_UNLOCK_PI',
             8: 'FUTEX_TRYLOCK_PI', 9: 'FUTEX_WAIT_BITSET', 10: 'FUTEX_WAKE_BITSET',
             11: 'FUTEX_WAIT_REQUEUE_PI', 12: 'FUTEX_CMP_REQUEUE_PI', 13: 'FUTEX_LOCK_PI2'}
FUTEX_CMD_MASK = 0x7F
FUTEX_PRIVATE_FLAG = 0x80
FUTEX_CLOCK_REALTIME = 0x100
FUTEX_BITSET_MATCH_ANY = 0xFFFF_FFFF
# Which of futex's arguments after `val` each operation uses: timeout (t), val2 as a
# count (n), uaddr2 (u), val3 (v).
FUTEX_USES = {'FUTEX_WAIT': 't', 'FUTEX_WAKE': '', 'FUTEX_FD': '', 'FUTEX_REQUEUE': 'nu',
              'FUTEX_CMP_REQUEUE': 'nuv', 'FUTEX_WAKE_OP': 'nuv', 'FUTEX_LOCK_PI': 't',
              'FUTEX_LOCK_PI2': 't', 'FUTEX_UNLOCK_PI': '', 'FUTEX_TRYLOCK_PI': '',
              'FUTEX_WAIT_BITSET': 'tuv', 'FUTEX_WAKE_BITSET': 'uv',
              'FUTEX_WAIT_REQUEUE_PI': 'tu', 'FUTEX_CMP_REQUEUE_PI': 'nuv'}

# -- signals (asm/signal.h) -------------------------------------------------------------------
SIGNALS = {1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 4: 'SIGILL', 5: 'SIGTRAP', 6: 'SIGABRT',
           7: 'SIGBUS', 8: 'SIGFPE', 9: 'SIGKILL', 10: 'SIGUSR1', 11: 'SIGSEGV', 12: 'SIGUSR2',
           13: 'SIGPIPE', 14: 'SIGALRM', 15: 'SIGTERM', 16: 'SIGSTKFLT', 17: 'SIGCHLD',
           18: 'SIGCONT', 19: 'SIGSTOP', 20: 'SIGTSTP', 21: 'SIGTTIN', 22: 'SIGTTOU', 23: 'SIGURG',
           24: 'SIGXCPU', 25: 'SIGXFSZ', 26: 'SIGVTALRM', 27: 'SIGPROF', 28: 'SIGWINCH',
           29: 'SIGIO', 30: 'SIGPWR', 31: 'SIGSYS', 32: 'SIGRTMIN'}
SIGNALS.update({n: f'SIGRT_{n - 32}' for n in range(33, 65)})
NSIG = 64
SIG_HOW = {0: 'SIG_BLOCK', 1: 'SIG_UNBLOCK', 2: 'SIG_SETMASK'}
SIG_HANDLERS = {0: 'SIG_DFL', 1: 'SIG_IGN'}
SA_FLAGS = [(0x1, 'SA_NOCLDSTOP'), (0x2, 'SA_NOCLDWAIT'), (0x4, 'SA_SIGINFO'),
            (0x04000000, 'SA_RESTORER'), (0x08000000, 'SA_ONSTACK'), (0x10000000, 'SA_RESTART'),
            (0x40000000, 'SA_NODEFER'), (0x80000000, 'SA_RESETHAND')]
SS_FLAGS = [(1, 'SS_ONSTACK'), (2, 'SS_DISABLE'), (0x80000000, 'SS_AUTODISARM')]
ITIMERS = {0: 'ITIMER_REAL', 1: 'ITIMER_VIRTUAL', 2: 'ITIMER_PROF'}

# -- time (linux/time.h) ----------------------------------------------------------------------
CLOCKS = {0: 'CLOCK_REALTIME', 1: 'CLOCK_MONOTONIC', 2: 'CLOCK_PROCESS_CPUTIME_ID',
          3: 'CLOCK_THREAD_CPUTIME_ID', 4: 'CLOCK_MONOTONIC_RAW', 5: 'CLOCK_REALTIME_COARSE',
          6: 'CLOCK_MONOTONIC_COARSE', 7: 'CLOCK_BOOTTIME', 8: 'CLOCK_REALTIME_ALARM',
          9: 'CLOCK_BOOTTIME_ALARM', 11: 'CLOCK_TAI'}
TIMER_FLAGS = [(1, 'TIMER_ABSTIME')]

# -- polling and events (asm-generic/poll.h, linux/eventpoll.h, linux/eventfd.h) -------------
POLL_EVENTS = [(0x1, 'POLLIN'), (0x2, 'POLLPRI'), (0x4, 'POLLOUT'), (0x8, 'POLLERR'),
               (0x10, 'POLLHUP'), (0x20, 'POLLNVAL'), (0x40, 'POLLRDNORM'), (0x80, 'POLLRDBAND'),
               (0x100, 'POLLWRNORM'), (0x200, 'POLLWRBAND'), (0x400, 'POLLMSG'), (0x2000, 'POLLRDHUP')]
EPOLL_EVENTS = [(e, n.replace('POLL', 'EPOLL')) for e, n in POLL_EVENTS] + [
    (1 << 28, 'EPOLLEXCLUSIVE'), (1 << 29, 'EPOLLWAKEUP'), (1 << 30, 'EPOLLONESHOT'), (1 << 31, 'EPOLLET')]
EPOLL_CTL = {1: 'EPOLL_CTL_ADD', 2: 'EPOLL_CTL_DEL', 3: 'EPOLL_CTL_MOD'}
CLOEXEC_NONBLOCK = [(0o2000000, 'O_CLOEXEC'), (0o4000, 'O_NONBLOCK')]     # pipe2, dup3
EFD_FLAGS = [(1, 'EFD_SEMAPHORE'), (0o2000000, 'EFD_CLOEXEC'), (0o4000, 'EFD_NONBLOCK')]
EPOLL_CREATE_FLAGS = [(0o2000000, 'EPOLL_CLOEXEC')]

# -- System V IPC (linux/ipc.h, linux/sem.h, linux/shm.h, linux/msg.h) ------------------------
IPC_PRIVATE = 0
IPC_FLAGS = [(0o1000, 'IPC_CREAT'), (0o2000, 'IPC_EXCL'), (0o4000, 'IPC_NOWAIT')]
IPC_64 = 0x100                        # "the new layouts", or-ed into the command by some libcs
IPC_CMDS = {0: 'IPC_RMID', 1: 'IPC_SET', 2: 'IPC_STAT', 3: 'IPC_INFO'}
SEM_CMDS = {**IPC_CMDS, 11: 'GETPID', 12: 'GETVAL', 13: 'GETALL', 14: 'GETNCNT', 15: 'GETZCNT',
    16: 'SETVAL', 17: 'SETALL', 18: 'SEM_STAT', 19: 'SEM_INFO', 20: 'SEM_STAT_ANY'}
MSG_CMDS = {**IPC_CMDS, 11: 'MSG_STAT', 12: 'MSG_INFO', 13: 'MSG_STAT_ANY'}
SHM_CMDS = {**IPC_CMDS, 11: 'SHM_LOCK', 12: 'SHM_UNLOCK', 13: 'SHM_STAT', 14: 'SHM_INFO',
            15: 'SHM_STAT_ANY'}
SHM_FLAGS = [(0o10000, 'SHM_RDONLY'), (0o20000, 'SHM_RND'), (0o40000, 'SHM_REMAP'), (0o100000, 'SHM_EXEC')]
MSG_FLAGS = [(0o4000, 'IPC_NOWAIT'), (0o10000, 'MSG_NOERROR'), (0o20000, 'MSG_EXCEPT'),
             (0o40000, 'MSG_COPY')]

# -- siginfo's si_code (asm-generic/siginfo.h) -------------------------------------------------
SI_CODES = {0: 'SI_USER', 0x80: 'SI_KERNEL', -1: 'SI_QUEUE', -2: 'SI_TIMER', -3: 'SI_MESGQ',
            -4: 'SI_ASYNCIO', -5: 'SI_SIGIO', -6: 'SI_TKILL'}
FAULT_CODES = {'SIGSEGV': {1: 'SEGV_MAPERR', 2: 'SEGV_ACCERR', 3: 'SEGV_BNDERR', 4: 'SEGV_PKUERR'},
               'SIGBUS': {1: 'BUS_ADRALN', 2: 'BUS_ADRERR', 3: 'BUS_OBJERR'},
               'SIGILL': {1: 'ILL_ILLOPC', 2: 'ILL_ILLOPN', 3: 'ILL_ILLADR', 4: 'ILL_ILLTRP',
                          5: 'ILL_PRVOPC', 6: 'ILL_PRVREG', 7: 'ILL_COPROC', 8: 'ILL_BADSTK'},
               'SIGFPE': {1: 'FPE_INTDIV', 2: 'FPE_INTOVF', 3: 'FPE_FLTDIV', 4: 'FPE_FLTOVF',
                          5: 'FPE_FLTUND', 6: 'FPE_FLTRES', 7: 'FPE_FLTINV', 8: 'FPE_FLTSUB'},
               'SIGTRAP': {1: 'TRAP_BRKPT', 2: 'TRAP_TRACE'}}
CLD_CODES = {1: 'CLD_EXITED', 2: 'CLD_KILLED', 3: 'CLD_DUMPED', 4: 'CLD_TRAPPED', 5: 'CLD_STOPPED',
             6: 'CLD_CONTINUED'}
