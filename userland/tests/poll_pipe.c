/* poll on a pipe: not ready while empty (a zero timeout returns 0 at once), ready once a
 * forked child writes (the parent waits in poll until then), POLLHUP (with POLLIN while
 * bytes remain) after the writer closes; the write end is writable, and POLLERR once the
 * reader is gone; an unknown descriptor is POLLNVAL; a negative fd is skipped. */
#include "check.h"
#include <errno.h>
#include <poll.h>
#include <unistd.h>
#include <sys/wait.h>

int main(void)
{
    begin("poll_pipe");
    int p[2];
    check_eq("pipe", 0, pipe(p));
    struct pollfd fds[2] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}};
    check_eq("poll(timeout 0) on an empty pipe: only the write end", 1, poll(fds, 2, 0));
    check_eq("read end revents", 0, fds[0].revents);
    check_eq("write end revents", POLLOUT, fds[1].revents);

    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        usleep(20000);                       /* the parent is asleep in poll by now */
        write(p[1], "hi", 2);
        close(p[1]);
        _exit(0);
    }
    close(p[1]);
    fds[0].revents = -1;
    check_eq("poll(-1) waits for the child's write", 1, poll(fds, 1, -1));
    check("read end is readable", fds[0].revents & POLLIN);
    int st;
    waitpid(pid, &st, 0);                    /* the child has closed its end now */
    check_eq("poll after the writer closed", 1, poll(fds, 1, 0));
    check_eq("revents: POLLIN|POLLHUP (bytes left)", POLLIN | POLLHUP, fds[0].revents);
    char buf[4];
    check_eq("read the 2 bytes", 2, read(p[0], buf, sizeof buf));
    check_eq("poll on a drained pipe with no writer", 1, poll(fds, 1, 0));
    check_eq("revents: POLLHUP alone", POLLHUP, fds[0].revents);
    close(p[0]);

    check_eq("pipe", 0, pipe(p));
    close(p[0]);
    struct pollfd w = {p[1], POLLOUT, 0};
    check_eq("poll on a write end with no reader", 1, poll(&w, 1, 0));
    check_eq("revents: POLLOUT|POLLERR", POLLOUT | POLLERR, w.revents);
    close(p[1]);

    struct pollfd bad[2] = {{99, POLLIN, 0}, {-1, POLLIN, 7}};
    check_eq("poll on fd 99 and fd -1", 1, poll(bad, 2, 0));
    check_eq("fd 99 revents: POLLNVAL", POLLNVAL, bad[0].revents);
    check_eq("fd -1 revents cleared", 0, bad[1].revents);

    errno = 0;
    check_eq("poll with a bad array pointer", -1, poll((struct pollfd *)8, 1, 0));
    check_eq("errno is EFAULT", EFAULT, errno);
    errno = 0;
    check_eq("poll with nfds above RLIMIT_NOFILE", -1, poll(fds, 100000, 0));
    check_eq("errno is EINVAL", EINVAL, errno);
    end();
}
