/* Maps N page objects and touches each once, then touches objects 1..HOT for ever: the
 * host-side test (tests/test_objects.py) stops the kernel meanwhile to see which pages the
 * object cache's clock keeps when memory is short.
 *   objhot N HOT */
#include "check.h"
#include <sys/mman.h>
#include <ukern.h>

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
    for (long i = 0; i < n; i++) {
        long slot = ukern_cap_call(UKERN_BANK_SLOT, UKERN_ALLOC_PAGE, 0, 0);
        if (slot < 0 || ukern_cap_map(slot, (void *)(BASE + i * 4096), PROT_READ | PROT_WRITE) < 0)
            fail("object %ld: cannot allocate and map", i);
        ukern_cap_drop(slot);
    }
    long sum = 0;
    for (long i = 0; i < n; i++)
        sum += object(i);
    check_eq("every object reads zero", 0, sum);
    msg("touching objects 1..%ld from now on", hot);
    for (;;)
        for (long h = 1; h <= hot; h++)
            sum += object(h);
}
