/* prctl(PR_SET_NAME) renames the process: PR_GET_NAME, /proc/self/stat and status show
 * it; the other options it answers. */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

static void slurp(const char *path, char *buf, int size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        fail("open %s", path);
    int n = read(fd, buf, size - 1);
    buf[n > 0 ? n : 0] = 0;
    close(fd);
}

int main(void)
{
    begin("misc_prctl");
    char name[16] = {0}, buf[4096];
    check_eq("PR_SET_NAME", 0, prctl(PR_SET_NAME, "renamed-process-long", 0, 0, 0));
    check_eq("PR_GET_NAME", 0, prctl(PR_GET_NAME, name, 0, 0, 0));
    check("the name is cut to 15 bytes", strcmp(name, "renamed-process") == 0);
    slurp("/proc/self/stat", buf, sizeof buf);
    check("/proc/self/stat shows it", strstr(buf, "(renamed-process)") != NULL);
    slurp("/proc/self/status", buf, sizeof buf);
    check("/proc/self/status shows it", strncmp(buf, "Name:\trenamed-process\n", 22) == 0);

    check_eq("PR_SET_PDEATHSIG", 0, prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0));
    int sig = 0;
    check_eq("PR_GET_PDEATHSIG", 0, prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0));
    check_eq("... SIGTERM", SIGTERM, sig);
    check_eq("PR_GET_DUMPABLE", 1, prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    check_eq("PR_SET_DUMPABLE 0", 0, prctl(PR_SET_DUMPABLE, 0, 0, 0, 0));
    check_eq("PR_GET_DUMPABLE again", 0, prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    check_eq("PR_SET_NO_NEW_PRIVS", 0, prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
    check_eq("PR_GET_NO_NEW_PRIVS", 1, prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    check_eq("PR_SET_CHILD_SUBREAPER", 0, prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0));
    errno = 0;
    check_eq("an unknown option fails", -1, prctl(9999, 0, 0, 0, 0));
    check_eq("... EINVAL", EINVAL, errno);
    errno = 0;
    check_eq("PR_SET_NAME from a bad pointer fails", -1, prctl(PR_SET_NAME, (char *)16, 0, 0, 0));
    check_eq("... EFAULT", EFAULT, errno);
    end();
}
