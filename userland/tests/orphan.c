/* Orphans go to init: a grandchild whose parent has exited gets pid 1 as its parent, and
 * pid 1 (this test) reaps it. */
#include "check.h"
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
    begin("orphan");
    check_eq("this test runs as pid 1", 1, getpid());
    pid_t child = fork();
    if (child == 0) {
        pid_t grandchild = fork();
        if (grandchild == 0) {
            struct timespec t = {0, 2000000};
            nanosleep(&t, NULL);                 /* outlive the parent */
            _exit(getppid() == 1 ? 42 : 1);
        }
        _exit(0);
    }
    int status;
    check_eq("the child exits first", child, waitpid(child, &status, 0));
    pid_t orphan = wait(&status);
    check("the orphan is reaped by pid 1", orphan > child);
    check_eq("and saw pid 1 as its parent (exit 42)", 42, WEXITSTATUS(status));
    end();
}
