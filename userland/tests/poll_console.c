/* poll on standard input, the console: with its input from the host (the test's bytes)
 * it becomes readable, the bytes are read, and at end of input it stays readable (read
 * returns 0).  Standard output is always writable. */
#include "check.h"
#include <poll.h>
#include <unistd.h>
#include <sys/ioctl.h>

int main(void)
{
    begin("poll_console");
    struct pollfd fds[2] = {{0, POLLIN, 0}, {1, POLLOUT, 0}};
    check_eq("poll(-1) on stdin waits for input", 1, poll(fds, 1, -1));
    check_eq("poll(0) on stdin and stdout", 2, poll(fds, 2, 0));
    check_eq("stdin revents", POLLIN, fds[0].revents);
    check_eq("stdout revents", POLLOUT, fds[1].revents);
    int avail = -1;
    check_eq("ioctl FIONREAD on stdin", 0, ioctl(0, FIONREAD, &avail));
    check_eq("bytes available", 6, avail);
    char buf[16];
    check_eq("read them", 6, read(0, buf, sizeof buf));
    check("they are the test's bytes", memcmp(buf, "hello\n", 6) == 0);
    check_eq("poll at end of input", 1, poll(fds, 1, 1000));
    check_eq("revents", POLLIN, fds[0].revents);
    check_eq("read at end of input", 0, read(0, buf, sizeof buf));
    end();
}
