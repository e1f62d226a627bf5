/* The stack grows on demand below its initial 128 KiB, page by page. */
#include "check.h"

static long depth(int n)
{
    volatile char pad[1000];
    pad[0] = (char)n;
    pad[999] = (char)n;
    return n == 0 ? pad[0] : depth(n - 1) + pad[999] - pad[0] + 1;
}

int main(void)
{
    begin("stack");
    check_eq("2000 frames of 1 KB recursion (2 MB of stack)", 2000, depth(2000));
    end();
}
