/* posix_spawn and system(): musl starts the child with clone(CLONE_VM | CLONE_VFORK) on a
 * separate stack, which ukern runs as a copy-on-write fork. */
#include "check.h"
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

int main(void)
{
    begin("spawn");
    pid_t pid;
    char *argv[] = {"echo", "(spawn) hello from a spawned echo", NULL};
    check_eq("posix_spawn /bin/echo", 0, posix_spawn(&pid, "/bin/echo", NULL, NULL, argv, environ));
    int status;
    check_eq("waitpid returns it", pid, waitpid(pid, &status, 0));
    check_eq("it exited 0", 0, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    char *missing[] = {"nope", NULL};
    check_eq("posix_spawn of a missing file fails with ENOENT", 2,
             posix_spawn(&pid, "/bin/nope", NULL, NULL, missing, environ));
    status = system("exit 3");
    check_eq("system(\"exit 3\") through /bin/sh", 3, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    end();
}
