/* RLIMIT_NPROC: with the limit at 4, a process can make children until four processes
 * exist; the next fork fails with EAGAIN.  prlimit64 reports the limit. */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    begin("misc_nproc");
    struct rlimit rl = {4, 4};
    check_eq("setrlimit(NPROC, 4)", 0, setrlimit(RLIMIT_NPROC, &rl));
    struct rlimit got;
    check_eq("prlimit reads it", 0, prlimit(0, RLIMIT_NPROC, NULL, &got));
    check("4 and 4", got.rlim_cur == 4 && got.rlim_max == 4);
    pid_t kids[8];
    int made = 0;
    for (int i = 0; i < 8; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            pause();
            _exit(0);
        }
        if (pid < 0) {
            check_eq("the failing fork says EAGAIN", EAGAIN, errno);
            break;
        }
        kids[made++] = pid;
    }
    check_eq("three children besides this process", 3, made);
    for (int i = 0; i < made; i++) {
        kill(kids[i], SIGKILL);
        waitpid(kids[i], NULL, 0);
    }
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    check("fork works again once they are gone", pid > 0);
    waitpid(pid, NULL, 0);
    end();
}
