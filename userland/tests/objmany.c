/* Reads N page objects (allocated afresh, so none is in memory), twice: the first pass
 * has the object server fetch every one, the second finds them all cached.
 *   objmany N */
#include "check.h"
#include <sys/mman.h>
#include <ukern.h>

#define BASE 0x600000000000ul

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    begin("objmany");
    for (long i = 0; i < n; i++) {
        long slot = ukern_cap_call(UKERN_BANK_SLOT, UKERN_ALLOC_PAGE, 0, 0);
        if (slot < 0 || ukern_cap_map(slot, (void *)(BASE + i * 4096), PROT_READ | PROT_WRITE) < 0)
            fail("object %ld: cannot allocate and map", i);
        ukern_cap_drop(slot);               /* the mapping keeps the capability */
    }
    msg("%ld page objects mapped", n);
    for (int pass = 1; pass <= 2; pass++) {
        long sum = 0;
        for (long i = 0; i < n; i++)
            sum += *(volatile long *)(BASE + i * 4096);
        check_eq(pass == 1 ? "first pass: every object reads zero" : "second pass: the same", 0, sum);
    }
    for (long i = 0; i < n; i++)
        *(long *)(BASE + i * 4096) = i;
    check_eq("objsync", 0, ukern_objsync() < 0);
    end();
}
