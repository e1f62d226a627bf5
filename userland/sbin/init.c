/* init: the first process (pid 1).
 *
 *   1. makes sure descriptors 0, 1 and 2 are open, on /dev/console;
 *   2. prints a banner and starts the shell, /bin/sh, with fork + execve;
 *   3. waits for children forever: the shell, and every orphan the kernel hands to pid 1
 *      when its parent dies first (someone must reap them, or they stay zombies);
 *   4. when the shell exits (`exit`, `exit 3`, or Ctrl-D) flushes the disk with sync()
 *      and exits with the shell's status, which shuts the machine down (`ukern boot`
 *      exits with it); when the shell is killed by a signal starts a new one.  A shell
 *      that cannot start (say /bin/sh is missing), or keeps being killed at once, is
 *      given up on rather than restarted forever.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#define SHELL "/bin/sh"
#define QUICK_FAILS 5   /* give up after this many failures in a row, each within a second */

/* The signals init ignores: typed at the console, they are meant for the foreground job. */
static const int ignored[] = {SIGINT, SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU};
#define NIGNORED (int)(sizeof ignored / sizeof ignored[0])

/* Open /dev/console as each of descriptors 0, 1, 2 that is not open already.  open()
 * always returns the lowest free descriptor, so filling them in order lands each one. */
static void open_console(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) >= 0)
            continue;                       /* already open: leave it */
        int c = open("/dev/console", O_RDWR);
        if (c >= 0 && c != fd) {
            dup2(c, fd);
            close(c);
        }
    }
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* fork + execve the shell; returns the child's pid, or -1 if fork or execve failed.
 * The child reports a failed execve through a close-on-exec pipe: end of file there means
 * the execve succeeded (the pipe closed with the old program), so a shell that later
 * exits with 127 (a command not found, then Ctrl-D) is not taken for one that never ran. */
static pid_t start_shell(void)
{
    int report[2];
    if (pipe2(report, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(report[0]);
        /* Ignored signals stay ignored across execve, so put them back to default. */
        for (int i = 0; i < NIGNORED; i++)
            signal(ignored[i], SIG_DFL);
        char *argv[] = {"sh", NULL};
        char *envp[] = {"PATH=/bin", "HOME=/", "TERM=vt100", NULL};
        execve(SHELL, argv, envp);
        int err = errno;
        write(report[1], &err, sizeof err);
        _exit(127);
    }
    close(report[1]);
    int err = 0;
    ssize_t n = 0;
    if (pid > 0)
        while ((n = read(report[0], &err, sizeof err)) < 0 && errno == EINTR)
            ;
    close(report[0]);
    if (pid > 0 && n == (ssize_t)sizeof err) {
        fprintf(stderr, "init: cannot run %s: %s\n", SHELL, strerror(err));
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

/* Wait until the shell ends, reaping every orphan handed to pid 1 meanwhile. */
static int wait_for(pid_t shell)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid == shell)
            return status;
        if (pid < 0 && errno != EINTR) {
            fprintf(stderr, "init: waitpid: %s\n", strerror(errno));
            return 1 << 8;                  /* as if the shell had exited with status 1 */
        }
    }
}

int main(void)
{
    open_console();
    for (int i = 0; i < NIGNORED; i++)
        signal(ignored[i], SIG_IGN);
    printf("ukern init: pid %d, starting %s\n", (int)getpid(), SHELL);
    fflush(stdout);

    int quick_fails = 0;
    for (;;) {
        double started = now();
        pid_t shell = start_shell();
        int status = shell < 0 ? -1 : wait_for(shell);
        if (shell >= 0) {
            /* The console's foreground process group was the dead shell's: take it back
             * so the next shell starts out in the foreground (harmless if not a tty). */
            tcsetpgrp(0, getpgrp());
            if (WIFEXITED(status)) {
                printf("ukern init: the shell exited; syncing and shutting down\n");
                fflush(stdout);
                sync();
                return WEXITSTATUS(status);
            }
            fprintf(stderr, "init: %s killed by signal %d; restarting it\n", SHELL, WTERMSIG(status));
        }
        quick_fails = now() - started < 1.0 ? quick_fails + 1 : 0;
        if (quick_fails >= QUICK_FAILS) {
            fprintf(stderr, "init: %s keeps failing; giving up\n", SHELL);
            sync();
            return 1;
        }
        if (shell < 0) {                    /* give a failed fork or exec a moment */
            struct timespec second = {1, 0};
            nanosleep(&second, NULL);
        }
    }
}
