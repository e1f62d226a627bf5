/* isatty tells whether the console is a terminal: the host test runs with stdout a pipe. */
#include "check.h"
#include <unistd.h>
#include <errno.h>

int main(void)
{
    begin("tty");
    int r = isatty(1);
    check_eq("isatty(1) with stdout a pipe is 0", 0, r);
    check_eq("errno is ENOTTY", ENOTTY, errno);
    end();
}
