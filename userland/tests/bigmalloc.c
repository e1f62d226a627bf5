/* malloc 32 MiB and touch it sparsely: only the touched places are ever given frames
   (ru_maxrss, the largest resident set, says how many were).  A first touch may map the
   whole 2 MiB block around it (mm/fault.py, as transparent huge pages do), so the touches
   are 4 MiB apart: nine of them may map 18 MiB, never the whole 32. */
#include "check.h"
#include <stdint.h>
#include <sys/resource.h>

#define SIZE (32u << 20)
#define STRIDE (4u << 20)
#define MAX_RESIDENT_KIB (20 << 10)

int main(void)
{
    begin("bigmalloc");
    /* volatile: the compiler may not elide the allocation or assume what untouched memory holds */
    volatile unsigned char *p = malloc(SIZE);
    check("malloc of 32 MiB succeeded", p != NULL);
    for (uint32_t off = 0; off < SIZE; off += STRIDE)
        p[off] = (unsigned char)(off >> 20);
    p[SIZE - 1] = 0x5a;
    unsigned sum = 0;
    for (uint32_t off = 0; off < SIZE; off += STRIDE)
        sum += p[off];
    check_eq("sum of the bytes written every 4 MiB", 112, sum);
    check_eq("last byte", 0x5a, p[SIZE - 1]);
    check_eq("an untouched byte reads zero", 0, p[12345]);
    struct rusage ru;
    check_eq("getrusage", 0, getrusage(RUSAGE_SELF, &ru));
    check("the largest resident set is under 20 MiB", ru.ru_maxrss < MAX_RESIDENT_KIB);
    free((void *)p);
    end();
}
