/* 1000 times: fork, the child exits at once, the parent reaps it with waitpid.  Nothing
 * leaks: process slots, pids and memory all come back. */
#include "check.h"
#include <unistd.h>
#include <sys/wait.h>

#define ROUNDS 1000

int main(void)
{
    begin("forkexit");
    int reaped = 0;
    for (int i = 0; i < ROUNDS; i++) {
        pid_t pid = fork();
        if (pid < 0)
            fail("fork number %d failed", i);
        if (pid == 0)
            _exit(i & 0x7f);
        int st;
        if (waitpid(pid, &st, 0) != pid)
            fail("waitpid for child %d did not return its pid", i);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != (i & 0x7f))
            fail("child %d: wait status %#x", i, st);
        reaped++;
    }
    check_eq("children forked, exited and reaped", ROUNDS, reaped);
    int st;
    check_eq("no child left: waitpid(-1) fails", -1, waitpid(-1, &st, 0));
    end();
}
