/* O_NONBLOCK on the console: fcntl sets it on standard input; before the host's bytes
 * have arrived a read fails with EAGAIN instead of waiting; poll waits for them, FIONREAD
 * counts them, the read gets them, and at end of input a read returns 0. */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include <sys/ioctl.h>

int main(void)
{
    begin("nonblock_console");
    int fl = fcntl(0, F_GETFL);
    check_eq("F_SETFL O_NONBLOCK on stdin", 0, fcntl(0, F_SETFL, fl | O_NONBLOCK));
    check("F_GETFL shows it", fcntl(0, F_GETFL) & O_NONBLOCK);
    char buf[8];
    errno = 0;
    check_eq("read with no input yet", -1, read(0, buf, sizeof buf));
    check_eq("errno is EAGAIN", EAGAIN, errno);
    struct pollfd pf = {0, POLLIN, 0};
    check_eq("poll waits for the input", 1, poll(&pf, 1, -1));
    int avail = -1;
    check_eq("FIONREAD", 0, ioctl(0, FIONREAD, &avail));
    check_eq("bytes available", 3, avail);
    check_eq("now the read gets them", 3, read(0, buf, sizeof buf));
    check_eq("then end of input: 0", 0, read(0, buf, sizeof buf));
    end();
}
