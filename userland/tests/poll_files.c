/* Files whose operations never wait are always ready, as in Linux: poll reports a regular
 * file, a directory, /dev/null, /dev/zero and a /proc file readable and writable, and
 * select counts them in both sets. */
#include "check.h"
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <sys/select.h>

int main(void)
{
    begin("poll_files");
    const char *paths[] = {"/etc/motd", "/", "/dev/null", "/dev/zero", "/proc/meminfo"};
    struct pollfd fds[5];
    for (int i = 0; i < 5; i++) {
        fds[i].fd = open(paths[i], O_RDONLY);
        fds[i].events = POLLIN | POLLOUT;
        if (fds[i].fd < 0)
            fail("open %s", paths[i]);
    }
    check_eq("poll(-1) returns at once with all five", 5, poll(fds, 5, -1));
    for (int i = 0; i < 5; i++) {
        msg("%s:", paths[i]);
        check_eq("  revents", POLLIN | POLLOUT, fds[i].revents);
    }
    fd_set r, w;
    FD_ZERO(&r); FD_ZERO(&w);
    int maxfd = 0;
    for (int i = 0; i < 5; i++) {
        FD_SET(fds[i].fd, &r);
        FD_SET(fds[i].fd, &w);
        if (fds[i].fd > maxfd)
            maxfd = fds[i].fd;
    }
    check_eq("select: five readable + five writable", 10, select(maxfd + 1, &r, &w, NULL, NULL));
    end();
}
