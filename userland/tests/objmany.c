/* Reads N page objects (allocated afresh, so none is in memory), twice: the first pass
 * has the object server fetch every one, the second finds them all cached.
 *   objmany N */
#include "objmap.h"

#define BASE 0x600000000000ul

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    begin("objmany");
    map_fresh_objects(BASE, n);
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
