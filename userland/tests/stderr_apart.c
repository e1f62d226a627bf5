/* Standard output and standard error: "out" on fd 1, "err" on fd 2, in that order; the
 * host test checks where each went. */
#include <unistd.h>

int main(void)
{
    write(1, "out\n", 4);
    write(2, "err\n", 4);
    write(1, "out again\n", 10);
    return 0;
}
