/* A fork bomb: every process forks as fast as it can, for ever, and a fork the kernel
 * refuses (EAGAIN: the process table is full) is tried again after a yield.  The first
 * time a process sees EAGAIN it says so.  With the argument "setsid" every child first
 * leaves the terminal's session, so that Ctrl-C no longer reaches it.  For
 * tests/test_limits.py: the shell must still answer. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int detach = argc > 1 && strcmp(argv[1], "setsid") == 0;
    int said = 0;
    printf("forkbomb: started\n");
    fflush(stdout);
    for (;;) {
        pid_t pid = fork();
        if (pid == 0 && detach)
            setsid();
        if (pid < 0 && errno == EAGAIN && !said) {
            printf("forkbomb: fork failed with EAGAIN\n");
            fflush(stdout);
            said = 1;
        }
        sched_yield();
    }
}
