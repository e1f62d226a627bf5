/* malloc 32 MiB and touch it sparsely: only the touched pages are ever given frames. */
#include "check.h"
#include <stdint.h>

#define SIZE (32u << 20)
#define STRIDE (1u << 20)

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
    check_eq("sum of the bytes written every MiB", 496, sum);
    check_eq("last byte", 0x5a, p[SIZE - 1]);
    check_eq("an untouched byte reads zero", 0, p[12345]);
    free((void *)p);
    end();
}
