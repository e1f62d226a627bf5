/* What waitpid says about how a child ended: exit(7); killed by SIGKILL while asleep;
 * killed by SIGSEGV for writing through a bad pointer. */
#include "check.h"
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

/* fork a child that runs body(); the parent gets the child's wait status. */
static int status_of(void (*body)(void), int kill_with)
{
    pid_t pid = fork();
    if (pid < 0)
        fail("fork failed");
    if (pid == 0) {
        body();
        _exit(99);
    }
    if (kill_with)
        kill(pid, kill_with);
    int st;
    if (waitpid(pid, &st, 0) != pid)
        fail("waitpid did not return the child");
    return st;
}

static void exit7(void) { exit(7); }

static void sleep_forever(void)
{
    for (;;) {
        struct timespec t = {1000, 0};
        nanosleep(&t, NULL);
    }
}

static void segfault(void)
{
    int *volatile bad = (int *)0x10;            /* volatile: the compiler cannot see it */
    *bad = 1;
}

int main(void)
{
    begin("waitstatus");
    int st = status_of(exit7, 0);
    check("exit(7): WIFEXITED", WIFEXITED(st));
    check_eq("exit(7): WEXITSTATUS", 7, WEXITSTATUS(st));
    check("exit(7): not WIFSIGNALED", !WIFSIGNALED(st));

    st = status_of(sleep_forever, SIGKILL);
    check("SIGKILL: WIFSIGNALED", WIFSIGNALED(st));
    check_eq("SIGKILL: WTERMSIG", SIGKILL, WTERMSIG(st));
    check("SIGKILL: not WIFEXITED", !WIFEXITED(st));

    st = status_of(segfault, 0);
    check("bad write: WIFSIGNALED", WIFSIGNALED(st));
    check_eq("bad write: WTERMSIG is SIGSEGV", SIGSEGV, WTERMSIG(st));
    end();
}
