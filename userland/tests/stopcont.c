/* SIGSTOP stops a process (waitpid with WUNTRACED sees it), SIGCONT resumes it, SIGTERM's
 * default action ends it. */
#include "check.h"
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    begin("stopcont");
    pid_t child = fork();
    if (child == 0)
        for (;;)
            sched_yield();
    int status;
    check_eq("kill SIGSTOP", 0, kill(child, SIGSTOP));
    check_eq("waitpid(WUNTRACED) reports it", child, waitpid(child, &status, WUNTRACED));
    check("WIFSTOPPED", WIFSTOPPED(status));
    check_eq("WSTOPSIG", SIGSTOP, WSTOPSIG(status));
    check_eq("kill SIGCONT", 0, kill(child, SIGCONT));
    check_eq("kill SIGTERM", 0, kill(child, SIGTERM));
    check_eq("waitpid reports its death", child, waitpid(child, &status, 0));
    check("WIFSIGNALED", WIFSIGNALED(status));
    check_eq("WTERMSIG", SIGTERM, WTERMSIG(status));
    end();
}
