/* mmap(MAP_POPULATE) of far more than the machine has: the mapping is made, populating
 * stops once memory runs out (it is best effort, as on Linux), and the program carries on
 * touching its first and last pages. */
#include <sys/mman.h>
#include "check.h"

int main(void)
{
    begin("populate_huge");
    unsigned long size = 8UL << 30;
    char *p = mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    check("mmap of 8 GiB with MAP_POPULATE succeeds", p != MAP_FAILED);
    p[0] = 1;
    p[size - 1] = 2;
    check_eq("first byte", 1, p[0]);
    check_eq("last byte", 2, p[size - 1]);
    check_eq("munmap", 0, munmap(p, size));
    end();
}
