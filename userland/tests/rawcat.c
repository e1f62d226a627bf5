/* Copy standard input to standard output byte for byte, with read(2) and write(2) only:
 * the host test feeds it bytes a terminal would edit (^C, DEL, ^U, CR) through a pipe. */
#include <unistd.h>

int main(void)
{
    char buf[256];
    long n;
    while ((n = read(0, buf, sizeof buf)) > 0)
        if (write(1, buf, n) != n)
            return 1;
    return n < 0 ? 2 : 0;
}
