/* A child killed between its execve and its first instruction in the new program: the
 * parent yields the processor once, the child runs and calls execve, which ends its time
 * slice, and the parent runs again before the child does and sends it SIGKILL.  The new
 * image the kernel built for the child must go with it (the host-side test checks the
 * kernel's books: no page of it left behind).
 *     exec_killed         the parent
 *     exec_killed child   what the child execs (it never runs: it is killed first) */
#include "check.h"
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc > 1) {
        msg("the child ran the new program");
        return 0;
    }
    begin("exec_killed");
    pid_t pid = fork();
    if (pid == 0) {
        execl(argv[0], argv[0], "child", (char *)0);
        _exit(127);
    }
    sched_yield();                      /* the child runs up to its execve */
    check_eq("kill() of the child that has just called execve", 0, kill(pid, SIGKILL));
    int status;
    check_eq("waitpid() of it", pid, waitpid(pid, &status, 0));
    check_eq("it was killed by SIGKILL", 1, WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    end();
}
