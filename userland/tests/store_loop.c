/* Stores into one page with the CPU until the host says stop (the page's second word): the
   host pages the page out meanwhile (tests/test_mm_mechanisms.py), so the stores must set
   the Dirty bit through the page table, not through a stale TLB entry.  The count of
   stores is kept in the page itself and in a register: they must agree at the end. */
#include "check.h"
#include <sys/mman.h>

#define PAGE ((volatile unsigned long *)0x200000000000UL)

int main(void)
{
    begin("store_loop");
    void *got = mmap((void *)PAGE, 4096, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    check("mmap at a fixed address", got == (void *)PAGE);
    unsigned long n = 0;
    PAGE[0] = 0;
    while (!PAGE[1])
        PAGE[0] = ++n;
    check_eq("the count in the page is the count of stores", n, PAGE[0]);
    end();
}
