/* select on several pipes: of three, only the two written to are readable; write ends
 * are writable; a child writing later wakes a select that waits with no timeout; a closed
 * descriptor in a set is EBADF.  pselect6 too. */
#include "check.h"
#include <errno.h>
#include <unistd.h>
#include <sys/select.h>
#include <sys/wait.h>

int main(void)
{
    begin("select_pipes");
    int a[2], b[2], c[2];
    pipe(a); pipe(b); pipe(c);
    write(a[1], "x", 1);
    write(c[1], "y", 1);
    fd_set r, w;
    FD_ZERO(&r); FD_ZERO(&w);
    FD_SET(a[0], &r); FD_SET(b[0], &r); FD_SET(c[0], &r);
    FD_SET(b[1], &w);
    int maxfd = c[1];
    struct timeval tv = {0, 0};
    check_eq("select: 2 readable + 1 writable", 3, select(maxfd + 1, &r, &w, NULL, &tv));
    check("a is readable", FD_ISSET(a[0], &r));
    check("b is not", !FD_ISSET(b[0], &r));
    check("c is readable", FD_ISSET(c[0], &r));
    check("b's write end is writable", FD_ISSET(b[1], &w));

    pid_t pid = fork();
    if (pid == 0) {
        usleep(10000);
        write(b[1], "z", 1);
        _exit(0);
    }
    FD_ZERO(&r);
    FD_SET(b[0], &r);
    check_eq("select(NULL timeout) waits for b", 1, select(b[0] + 1, &r, NULL, NULL, NULL));
    check("b is readable now", FD_ISSET(b[0], &r));
    waitpid(pid, NULL, 0);

    FD_ZERO(&r);
    FD_SET(b[0], &r);
    struct timespec ts = {1, 0};
    check_eq("pselect on b", 1, pselect(b[0] + 1, &r, NULL, NULL, &ts, NULL));

    close(a[0]);
    FD_ZERO(&r);
    FD_SET(a[0], &r);
    errno = 0;
    check_eq("select on a closed descriptor", -1, select(a[0] + 1, &r, NULL, NULL, &tv));
    check_eq("errno is EBADF", EBADF, errno);
    errno = 0;
    check_eq("select with nfds -1", -1, select(-1, NULL, NULL, NULL, &tv));
    check_eq("errno is EINVAL", EINVAL, errno);
    end();
}
