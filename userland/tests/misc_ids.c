/* The ids as a single-user system keeps them: root may become anyone, and reading back
 * gives what was set; once root is given up, only the ids held are allowed. */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <grp.h>
#include <sys/fsuid.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    begin("misc_ids");
    uid_t r, e, s;
    gid_t gr, ge, gs;
    check_eq("getresuid", 0, getresuid(&r, &e, &s));
    check("root, root, root", r == 0 && e == 0 && s == 0);
    check_eq("getuid", 0, getuid());
    check_eq("getppid of pid 1 is 0", 0, getppid());
    check_eq("no supplementary groups", 0, getgroups(0, NULL));
    gid_t set[3] = {30, 10, 20}, got[8];
    check_eq("setgroups", 0, setgroups(3, set));
    check_eq("getgroups counts them", 3, getgroups(0, NULL));
    check_eq("getgroups", 3, getgroups(8, got));
    check("the groups read back", got[0] == 10 && got[1] == 20 && got[2] == 30);
    errno = 0;
    check_eq("getgroups with too small a list", -1, getgroups(2, got));
    check_eq("... EINVAL", EINVAL, errno);

    check_eq("setresgid(100, 101, 102)", 0, setresgid(100, 101, 102));
    check_eq("getresgid", 0, getresgid(&gr, &ge, &gs));
    check("reads back", gr == 100 && ge == 101 && gs == 102);
    check_eq("getegid", 101, getegid());

    pid_t pid = fork();
    if (pid == 0) {
        /* the child gives up root; its parent keeps it */
        if (setresuid(1000, 1001, 1002) != 0) _exit(1);
        if (getresuid(&r, &e, &s) != 0 || r != 1000 || e != 1001 || s != 1002) _exit(2);
        if (geteuid() != 1001 || getuid() != 1000) _exit(3);
        if (setuid(0) != -1 || errno != EPERM) _exit(4);        /* no longer allowed */
        if (seteuid(1002) != 0 || geteuid() != 1002) _exit(5);  /* the saved id is */
        if (setfsuid(-1) != 1002) _exit(6);                     /* follows the effective id */
        if (setgroups(0, NULL) != -1 || errno != EPERM) _exit(7);
        _exit(0);
    }
    int st;
    waitpid(pid, &st, 0);
    check_eq("the child's checks (exit code)", 0, WEXITSTATUS(st));
    check_eq("the parent is still root", 0, geteuid());
    check_eq("setreuid(5, 6)", 0, setreuid(5, 6));
    check_eq("getresuid", 0, getresuid(&r, &e, &s));
    check("real 5, effective 6, saved 6", r == 5 && e == 6 && s == 6);
    end();
}
