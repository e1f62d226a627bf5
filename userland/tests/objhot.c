/* Maps N page objects and touches each once, then touches objects 1..HOT for ever: the
 * host-side test (tests/test_objects.py) stops the kernel meanwhile to see which pages the
 * object cache's clock keeps when memory is short.
 *   objhot N HOT */
#include "objmap.h"

#define BASE 0x600000000000ul

static long object(long i)
{
    return *(volatile long *)(BASE + i * 4096);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 100;
    long hot = argc > 2 ? atol(argv[2]) : 8;
    begin("objhot");
    map_fresh_objects(BASE, n);
    long sum = 0;
    for (long i = 0; i < n; i++)
        sum += object(i);
    check_eq("every object reads zero", 0, sum);
    msg("touching objects 1..%ld from now on", hot);
    for (;;)
        for (long h = 1; h <= hot; h++)
            sum += object(h);
}
