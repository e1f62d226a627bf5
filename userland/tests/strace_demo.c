/* A fixed sequence of system calls for the golden test of --strace decoding
 * (tests/test_strace_decode.py): each call is made with arguments strace shows by name
 * or as a structure, and a few fail on purpose to show errno names.  Its output is
 * deterministic on ukern (virtual time, fixed addresses for a fixed argv and env). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

static void on_usr1(int sig)
{
    (void)sig;
}

int main(void)
{
    /* files: flags, modes, strings with escapes, truncation, errors */
    int fd = open("/tmp/demo", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    write(fd, "tab\there \"quoted\" and a newline\n", 32);
    write(fd, "a string longer than thirty-two bytes is cut\n", 45);
    write(fd, "\0\1\2" "7bytes", 9);
    close(fd);
    open("/no/such/file", O_RDONLY);
    fd = openat(AT_FDCWD, "/tmp/demo", O_RDONLY | O_NONBLOCK);
    char buf[64];
    read(fd, buf, 8);
    struct stat st;
    fstat(fd, &st);
    lseek(fd, 0, SEEK_END);
    fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fcntl(fd, F_GETFD);
    close(fd);
    stat("/dev/null", &st);
    access("/tmp/demo", R_OK | W_OK);
    unlink("/tmp/demo");
    close(99);

    /* memory */
    char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    mprotect(p, 4096, PROT_READ);
    munmap(p, 8192);

    /* descriptors: a pipe, poll, writev/readv, an ioctl */
    int fds[2];
    pipe2(fds, O_CLOEXEC);
    struct iovec iov[2] = {{"ab", 2}, {"cde", 3}};
    writev(fds[1], iov, 2);
    struct pollfd pfd[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLOUT, 0}};
    poll(pfd, 2, 0);
    char a[2], b[8];
    struct iovec in[2] = {{a, 2}, {b, 8}};
    readv(fds[0], in, 2);
    struct winsize ws;
    ioctl(fds[0], TIOCGWINSZ, &ws);

    /* signals: a handler, a mask, delivery, sigreturn */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaction(SIGUSR1, &sa, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGQUIT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    kill(getpid(), SIGUSR1);
    signal(SIGINT, SIG_IGN);

    /* time and limits */
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);

    /* a child, and its wait status */
    pid_t child = fork();
    if (child == 0)
        _exit(7);
    int status;
    wait4(child, &status, 0, NULL);
    return 0;
}
