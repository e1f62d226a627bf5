/* init: the first process (pid 1).
 *
 *   1. makes sure descriptors 0, 1 and 2 are open, on /dev/console;
 *   2. prints a banner and starts the shell, /bin/sh, with fork + execve;
 *   3. waits for children forever: the shell, and every orphan the kernel hands to pid 1
 *      when its parent dies first (someone must reap them, or they stay zombies);
 *   4. when the shell exits with status 0 (it read end of input) flushes the disk with
 *      sync() and exits 0, which shuts the machine down; when the shell fails (non-zero
 *      status or killed by a signal) starts a new one.  A shell that keeps failing at once
 *      (say /bin/sh is missing) is given up on rather than restarted forever.
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

/* fork + execve the shell; returns the child's pid (or -1 if fork failed). */
static pid_t start_shell(void)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;                         /* parent (or fork failed: -1) */
    /* Child: ignored signals stay ignored across execve, so put them back to default. */
    for (int i = 0; i < NIGNORED; i++)
        signal(ignored[i], SIG_DFL);
    char *argv[] = {"sh", NULL};
    char *envp[] = {"PATH=/bin", "HOME=/", "TERM=vt100", NULL};
    execve(SHELL, argv, envp);
    fprintf(stderr, "init: cannot run %s: %s\n", SHELL, strerror(errno));
    _exit(127);
}

int main(void)
{
    open_console();
    for (int i = 0; i < NIGNORED; i++)
        signal(ignored[i], SIG_IGN);
    printf("ukern init: pid %d, starting %s\n", (int)getpid(), SHELL);
    fflush(stdout);

    int quick_fails = 0;
    double started = now();
    pid_t shell = start_shell();
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            if (errno == ECHILD && shell < 0) {
                /* fork failed and no child is left: try again after a moment */
                struct timespec second = {1, 0};
                nanosleep(&second, NULL);
                started = now();
                shell = start_shell();
                continue;
            }
            fprintf(stderr, "init: waitpid: %s\n", strerror(errno));
            break;
        }
        if (pid != shell)
            continue;                       /* an orphan (or an old job): reaped, done */

        /* The console's foreground process group was the dead shell's: take it back so
         * the next shell starts out in the foreground (fails harmlessly if not a tty). */
        tcsetpgrp(0, getpgrp());

        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            printf("ukern init: the shell exited; syncing and shutting down\n");
            fflush(stdout);
            sync();
            return 0;
        }
        if (WIFSIGNALED(status))
            fprintf(stderr, "init: %s killed by signal %d; restarting it\n", SHELL, WTERMSIG(status));
        else
            fprintf(stderr, "init: %s exited with status %d; restarting it\n", SHELL, WEXITSTATUS(status));

        quick_fails = now() - started < 1.0 ? quick_fails + 1 : 0;
        if (quick_fails >= QUICK_FAILS) {
            fprintf(stderr, "init: %s keeps failing; giving up\n", SHELL);
            sync();
            return 1;
        }
        started = now();
        shell = start_shell();
    }
    sync();
    return 1;
}
