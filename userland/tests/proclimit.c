/* Fork until the kernel refuses: fork fails with EAGAIN (the process table is full), and
 * nothing breaks; then every child is reaped.  The children wait by reading a pipe whose
 * writer the parent closes when it is done forking.
 *   proclimit [max]     give up (and fail) after max children (default 4096) */
#include "check.h"
#include <errno.h>
#include <unistd.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
    int max = argc > 1 ? atoi(argv[1]) : 4096;
    begin("proclimit");
    int p[2];
    check_eq("pipe", 0, pipe(p));
    int children = 0, fork_errno = 0;
    for (;;) {
        pid_t pid = fork();
        if (pid < 0) {
            fork_errno = errno;
            break;
        }
        if (pid == 0) {                         /* child: wait for EOF, then exit */
            char c;
            close(p[1]);
            while (read(p[0], &c, 1) > 0)
                ;
            _exit(0);
        }
        if (++children == max)
            break;
    }
    close(p[1]);                                /* the children's read now returns 0 */
    if (children == max) {
        while (wait(NULL) > 0)
            ;
        fail("fork did not fail after %d children", max);
    }
    msg("fork failed after %d children", children);
    check("at least one fork succeeded", children > 0);
    check_eq("fork failed with EAGAIN", EAGAIN, fork_errno);

    int reaped = 0, st;
    while (wait(&st) > 0)
        reaped += WIFEXITED(st) && WEXITSTATUS(st) == 0;
    check_eq("children reaped, all exited 0", children, reaped);
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    check("fork works again afterwards", pid > 0 && waitpid(pid, &st, 0) == pid);
    end();
}
