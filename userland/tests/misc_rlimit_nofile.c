/* RLIMIT_NOFILE: with the soft limit at 5, the sixth descriptor cannot be had (EMFILE);
 * soft above hard is EINVAL; a forked child inherits the limit. */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    begin("misc_rlimit_nofile");
    struct rlimit rl;
    check_eq("getrlimit(NOFILE)", 0, getrlimit(RLIMIT_NOFILE, &rl));
    check("soft <= hard", rl.rlim_cur <= rl.rlim_max && rl.rlim_cur >= 64);
    struct rlimit five = {5, rl.rlim_max};
    check_eq("setrlimit(NOFILE, 5)", 0, setrlimit(RLIMIT_NOFILE, &five));
    check_eq("getrlimit reads it back", 0, getrlimit(RLIMIT_NOFILE, &rl));
    check_eq("soft", 5, rl.rlim_cur);
    int fds[2];
    check_eq("pipe gets 3 and 4", 0, pipe(fds));
    check("3 and 4", fds[0] == 3 && fds[1] == 4);
    errno = 0;
    check_eq("dup: no sixth descriptor", -1, dup(0));
    check_eq("... EMFILE", EMFILE, errno);
    int more[2];
    errno = 0;
    check_eq("pipe fails too", -1, pipe(more));
    check_eq("... EMFILE", EMFILE, errno);
    pid_t pid = fork();
    if (pid == 0)
        _exit(dup(0) == -1 && errno == EMFILE ? 0 : 1);
    int st;
    waitpid(pid, &st, 0);
    check_eq("the child inherits the limit", 0, WEXITSTATUS(st));
    close(fds[1]);
    check_eq("after a close: dup works", 4, dup(0));
    struct rlimit bad = {10, 5};
    errno = 0;
    check_eq("soft > hard", -1, setrlimit(RLIMIT_NOFILE, &bad));
    check_eq("... EINVAL", EINVAL, errno);
    errno = 0;
    check_eq("an unknown resource", -1, getrlimit(99, &rl));
    check_eq("... EINVAL", EINVAL, errno);
    struct rlimit core = {1 << 20, RLIM_INFINITY}, old;
    check_eq("prlimit(CORE) sets and returns the old", 0, prlimit(0, RLIMIT_CORE, &core, &old));
    check_eq("old CORE soft", 0, old.rlim_cur);
    check_eq("getrlimit(CORE)", 0, getrlimit(RLIMIT_CORE, &rl));
    check_eq("... is the new one", 1 << 20, rl.rlim_cur);
    end();
}
