"""What each system call's arguments are, for --strace: one tuple of argument kinds per call.

A kind names how decode.py shows the value (decode.KINDS maps each kind to a function):
  fd dirfd          a descriptor (dirfd: AT_FDCWD by name)
  int uint hex ptr  numbers (ptr: NULL or hex)        octal mode  permission bits
  path              a NUL-terminated string           argv envp   execve's arrays
  buf               bytes, the next argument their length
  outbuf            bytes the call filled in, as many as it returned
  outstr            a string the call filled in (getcwd, readlink)
  iov outiov        struct iovec arrays, the next argument their count
  oflags omode      open's flags, and its mode (shown only with O_CREAT or O_TMPFILE)
  prot mapflags mremapflags msyncflags madvice whence atflags amode ...   flag sets and values
  signal sighow sigset outsigset sigaction outsigaction stack outstack   signals
  stat outstat statx outstatx statxmask  timespec outtimespec timeval outtimeval  structures
  pollfds outfds outint outwstatus rlimit outrlimit itimerval outitimerval  more structures
Calls missing here show their arguments in hex, as strace shows a call it does not know.
A few calls are decoded whole (clone, futex): see decode.CALLS.
"""

SIGNATURES: dict[str, tuple[str, ...]] = {
    # files and descriptors
    'read': ('fd', 'outbuf', 'uint'),
    'write': ('fd', 'buf', 'uint'),
    'pread64': ('fd', 'outbuf', 'uint', 'int'),
    'pwrite64': ('fd', 'buf', 'uint', 'int'),
    'readv': ('fd', 'outiov', 'int'),
    'writev': ('fd', 'iov', 'int'),
    'open': ('path', 'oflags', 'omode'),
    'openat': ('dirfd', 'path', 'oflags', 'omode'),
    'creat': ('path', 'octal'),
    'close': ('fd',),
    'lseek': ('fd', 'int', 'whence'),
    'dup': ('fd',),
    'dup2': ('fd', 'fd'),
    'dup3': ('fd', 'fd', 'cloexec'),
    'pipe': ('outfds',),
    'pipe2': ('outfds', 'cloexec'),
    'fcntl': ('fd', 'fcntlcmd', 'fcntlarg'),
    'ioctl': ('fd', 'ioctl', 'ioctlarg'),
    'flock': ('fd', 'flockop'),
    'fsync': ('fd',),
    'sync': (),
    'truncate': ('path', 'int'),
    'ftruncate': ('fd', 'int'),
    'fallocate': ('fd', 'fallocflags', 'int', 'int'),
    'sendfile': ('fd', 'fd', 'ptr', 'uint'),
    'getdents64': ('fd', 'dirents', 'uint'),
    'stat': ('path', 'outstat'),
    'lstat': ('path', 'outstat'),
    'fstat': ('fd', 'outstat'),
    'newfstatat': ('dirfd', 'path', 'outstat', 'atflags'),
    'statx': ('dirfd', 'path', 'statxflags', 'statxmask', 'outstatx'),
    'statfs': ('path', 'ptr'),
    'fstatfs': ('fd', 'ptr'),
    'access': ('path', 'amode'),
    'faccessat': ('dirfd', 'path', 'amode'),
    'getcwd': ('outstr', 'uint'),
    'chdir': ('path',),
    'fchdir': ('fd',),
    'mkdir': ('path', 'octal'),
    'mkdirat': ('dirfd', 'path', 'octal'),
    'rmdir': ('path',),
    'unlink': ('path',),
    'unlinkat': ('dirfd', 'path', 'atflags'),
    'rename': ('path', 'path'),
    'renameat': ('dirfd', 'path', 'dirfd', 'path'),
    'renameat2': ('dirfd', 'path', 'dirfd', 'path', 'renameflags'),
    'link': ('path', 'path'),
    'linkat': ('dirfd', 'path', 'dirfd', 'path', 'atflags'),
    'symlink': ('path', 'path'),
    'symlinkat': ('path', 'dirfd', 'path'),
    'readlink': ('path', 'outstr', 'uint'),
    'readlinkat': ('dirfd', 'path', 'outstr', 'uint'),
    'chmod': ('path', 'octal'),
    'fchmod': ('fd', 'octal'),
    'fchmodat': ('dirfd', 'path', 'octal'),
    'chown': ('path', 'int32', 'int32'),
    'fchown': ('fd', 'int32', 'int32'),
    'lchown': ('path', 'int32', 'int32'),
    'fchownat': ('dirfd', 'path', 'int32', 'int32', 'atflags'),
    'utimensat': ('dirfd', 'path', 'timespecs', 'atflags'),
    'umask': ('octal',),
    'mknod': ('path', 'modetype', 'hex'),
    'mknodat': ('dirfd', 'path', 'modetype', 'hex'),
    # waiting on descriptors
    'poll': ('pollfds', 'uint', 'int32'),
    'ppoll': ('pollfds', 'uint', 'timespec', 'sigset', 'uint'),
    'select': ('int32', 'ptr', 'ptr', 'ptr', 'timeval'),
    'pselect6': ('int32', 'ptr', 'ptr', 'ptr', 'timespec', 'ptr'),
    'epoll_create': ('int32',),
    'epoll_create1': ('epollflags',),
    'epoll_ctl': ('fd', 'epollop', 'fd', 'epollevent'),
    'epoll_wait': ('fd', 'outepollevents', 'int32', 'int32'),
    'epoll_pwait': ('fd', 'outepollevents', 'int32', 'int32', 'sigset', 'uint'),
    'eventfd': ('uint',),
    'eventfd2': ('uint', 'efdflags'),
    # memory
    'mmap': ('ptr', 'uint', 'prot', 'mapflags', 'fd', 'hex'),
    'mprotect': ('ptr', 'uint', 'prot'),
    'munmap': ('ptr', 'uint'),
    'mremap': ('ptr', 'uint', 'uint', 'mremapflags', 'ptr'),
    'msync': ('ptr', 'uint', 'msyncflags'),
    'madvise': ('ptr', 'uint', 'madvice'),
    'brk': ('ptr',),
    # processes
    'fork': (), 'vfork': (),
    'execve': ('path', 'argv', 'envp'),
    'exit': ('int32',),
    'exit_group': ('int32',),
    'wait4': ('int32', 'outwstatus', 'waitoptions', 'ptr'),
    'waitid': ('idtype', 'int32', 'ptr', 'waitoptions', 'ptr'),
    'kill': ('int32', 'signal'),
    'tkill': ('int32', 'signal'),
    'tgkill': ('int32', 'int32', 'signal'),
    'getpid': (), 'getppid': (), 'gettid': (), 'getpgrp': (), 'setsid': (), 'sched_yield': (),
    'pause': (), 'restart_syscall': (),
    'getpgid': ('int32',), 'getsid': ('int32',), 'setpgid': ('int32', 'int32'),
    'arch_prctl': ('arch', 'hex'),
    'prctl': ('prctlop', 'hex', 'hex', 'hex', 'hex'),
    'set_tid_address': ('ptr',),
    'set_robust_list': ('ptr', 'uint'),
    'get_robust_list': ('int32', 'ptr', 'ptr'),
    'getpriority': ('priowhich', 'int32'),
    'setpriority': ('priowhich', 'int32', 'int32'),
    'sched_getaffinity': ('int32', 'uint', 'ptr'),
    'sched_setaffinity': ('int32', 'uint', 'ptr'),
    'sched_getscheduler': ('int32',),
    'sched_getparam': ('int32', 'ptr'),
    'getcpu': ('ptr', 'ptr', 'ptr'),
    'getrlimit': ('rlimitres', 'outrlimit'),
    'setrlimit': ('rlimitres', 'rlimit'),
    'prlimit64': ('int32', 'rlimitres', 'rlimit', 'outrlimit'),
    'getrusage': ('rusagewho', 'ptr'),
    # credentials
    'getuid': (), 'getgid': (), 'geteuid': (), 'getegid': (),
    'setuid': ('int32',), 'setgid': ('int32',), 'setfsuid': ('int32',), 'setfsgid': ('int32',),
    'setreuid': ('int32', 'int32'), 'setregid': ('int32', 'int32'),
    'setresuid': ('int32', 'int32', 'int32'), 'setresgid': ('int32', 'int32', 'int32'),
    'getresuid': ('ptr', 'ptr', 'ptr'), 'getresgid': ('ptr', 'ptr', 'ptr'),
    'getgroups': ('int32', 'ptr'), 'setgroups': ('int32', 'ptr'),
    # signals
    'rt_sigaction': ('signal', 'sigaction', 'outsigaction', 'uint'),
    'rt_sigprocmask': ('sighow', 'sigset', 'outsigset', 'uint'),
    'rt_sigpending': ('outsigset', 'uint'),
    'rt_sigsuspend': ('sigset', 'uint'),
    'rt_sigtimedwait': ('sigset', 'ptr', 'timespec', 'uint'),
    'rt_sigreturn': (),
    'sigaltstack': ('stack', 'outstack'),
    'alarm': ('uint',),
    'getitimer': ('itimerwhich', 'outitimerval'),
    'setitimer': ('itimerwhich', 'itimerval', 'outitimerval'),
    # time
    'nanosleep': ('timespec', 'ptr'),
    'clock_nanosleep': ('clock', 'timerflags', 'timespec', 'ptr'),
    'clock_gettime': ('clock', 'outtimespec'),
    'clock_getres': ('clock', 'outtimespec'),
    'gettimeofday': ('outtimeval', 'ptr'),
    'time': ('ptr',),
    'times': ('ptr',),
    # the machine
    'uname': ('outuname',),
    'sysinfo': ('ptr',),
    'getrandom': ('outbuf', 'uint', 'grndflags'),
    # System V IPC
    'shmget': ('ipckey', 'uint', 'ipcflags'),
    'shmat': ('int32', 'ptr', 'shmflags'),
    'shmdt': ('ptr',),
    'shmctl': ('int32', 'shmcmd', 'ptr'),
    'semget': ('ipckey', 'int32', 'ipcflags'),
    'semop': ('int32', 'ptr', 'uint'),
    'semtimedop': ('int32', 'ptr', 'uint', 'timespec'),
    'semctl': ('int32', 'int32', 'semcmd', 'hex'),
    'msgget': ('ipckey', 'ipcflags'),
    'msgsnd': ('int32', 'ptr', 'uint', 'msgflags'),
    'msgrcv': ('int32', 'ptr', 'uint', 'int', 'msgflags'),
    'msgctl': ('int32', 'msgcmd', 'ptr'),
}

# Calls whose result is an address, shown in hex.
POINTER_RESULTS = {'mmap', 'brk', 'mremap', 'shmat'}

# strace's classes for -e trace=%CLASS.  %file and %desc follow from the table (a call that
# takes a path; one that takes a descriptor), the others are listed.
NAMED_CLASSES = {
    'process': {'clone', 'clone3', 'fork', 'vfork', 'execve', 'execveat', 'exit', 'exit_group',
                'wait4', 'waitid', 'kill', 'tkill', 'tgkill'},
    'memory': {'brk', 'mmap', 'munmap', 'mprotect', 'mremap', 'msync', 'madvise', 'mlock',
               'munlock', 'mincore', 'shmat', 'shmdt'},
    'signal': {'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'rt_sigpending', 'rt_sigsuspend',
               'rt_sigtimedwait', 'sigaltstack', 'kill', 'tkill', 'tgkill', 'pause'},
    'ipc': {'shmget', 'shmat', 'shmdt', 'shmctl', 'semget', 'semop', 'semtimedop', 'semctl',
            'msgget', 'msgsnd', 'msgrcv', 'msgctl'},
    'clock': {'clock_gettime', 'clock_getres', 'clock_settime', 'gettimeofday', 'settimeofday',
              'time', 'adjtimex'},
    'creds': {'getuid', 'getgid', 'geteuid', 'getegid', 'setuid', 'setgid', 'setreuid', 'setregid',
              'setresuid', 'setresgid', 'getresuid', 'getresgid', 'getgroups', 'setgroups',
              'setfsuid', 'setfsgid'},
    'stat': {'stat', 'newfstatat', 'statx'},
    'lstat': {'lstat'},
    'fstat': {'fstat', 'newfstatat'},
}


def call_classes() -> dict[str, set[str]]:
    """Every class: the listed ones, and %file and %desc from the argument kinds."""
    classes = {name: set(calls) for name, calls in NAMED_CLASSES.items()}
    classes['file'] = {name for name, kinds in SIGNATURES.items() if 'path' in kinds}
    classes['desc'] = {name for name, kinds in SIGNATURES.items() if 'fd' in kinds or 'pollfds' in kinds}
    classes['desc'] |= {'select', 'pselect6', 'epoll_create', 'epoll_create1', 'eventfd', 'eventfd2', 'pipe',
                        'pipe2'}
    return classes
