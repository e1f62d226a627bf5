/* O_NONBLOCK on the console.  fcntl sets it on standard input.  With the input from the
 * host (a file or pipe: argument "piped"), the bytes are there at once: a non-blocking
 * read gets them, FIONREAD counted them, and at end of input a read returns 0.  With a
 * person typing (argument "typed", a typing script), nothing is ready before the first
 * line is typed: the read fails with EAGAIN, poll waits for the line, and then the read
 * gets it. */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <sys/ioctl.h>

int main(int argc, char **argv)
{
    begin("nonblock_console");
    int typed = argc > 1 && strcmp(argv[1], "typed") == 0;
    int fl = fcntl(0, F_GETFL);
    check_eq("F_SETFL O_NONBLOCK on stdin", 0, fcntl(0, F_SETFL, fl | O_NONBLOCK));
    check("F_GETFL shows it", fcntl(0, F_GETFL) & O_NONBLOCK);
    char buf[8];
    int avail = -1;
    if (typed) {
        errno = 0;
        check_eq("read before anything was typed", -1, read(0, buf, sizeof buf));
        check_eq("errno is EAGAIN", EAGAIN, errno);
        struct pollfd pf = {0, POLLIN, 0};
        check_eq("poll waits for the line", 1, poll(&pf, 1, -1));
        check_eq("FIONREAD", 0, ioctl(0, FIONREAD, &avail));
        check_eq("bytes available", 4, avail);
        check_eq("now the read gets the line", 4, read(0, buf, sizeof buf));
        check("it is what was typed", memcmp(buf, "abc\n", 4) == 0);
    } else {
        check_eq("FIONREAD", 0, ioctl(0, FIONREAD, &avail));
        check_eq("read gets the host's bytes at once", 3, read(0, buf, sizeof buf));
        check("they are the host's bytes", memcmp(buf, "abc", 3) == 0);
        check_eq("then end of input: 0, not EAGAIN", 0, read(0, buf, sizeof buf));
    }
    end();
}
