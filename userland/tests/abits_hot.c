/* The replacement policy sees the Accessed bits the CPU sets: a hot page, read between every
   two pages of a scan larger than memory, stays resident, and a cold page, written once, goes
   to swap.  A first scan fills memory (so that reclaim has swept every page once: on that
   first sweep every page looks referenced), then the hot and cold pages are made and a second
   scan runs.  The program ends in pause(): the host looks at its page table and its faults
   (tests/test_mm_mechanisms.py).  argv[1]: MiB to scan. */
#include "check.h"
#include <sys/mman.h>
#include <unistd.h>

#define HOT ((volatile char *)0x200000000000UL)
#define COLD ((volatile char *)0x200000100000UL)

static void map_fixed(volatile char *at)
{
    void *got = mmap((void *)at, 4096, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    check("mmap at a fixed address", got == (void *)at);
}

int main(int argc, char **argv)
{
    begin("abits_hot");
    size_t size = (size_t)(argc > 1 ? atoi(argv[1]) : 40) << 20;
    volatile char *scan = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check("mmap of the scan", scan != MAP_FAILED);
    for (size_t off = 0; off < size; off += 4096)
        scan[off] = (char)(off >> 12);
    map_fixed(HOT);
    map_fixed(COLD);
    HOT[0] = 1;
    COLD[0] = 2;
    unsigned long hot_sum = 0;
    for (size_t off = 0; off < size; off += 4096) {
        scan[off] += 1;
        hot_sum += HOT[0];
    }
    check_eq("the hot page read back at every step", size / 4096, hot_sum);
    msg("scan done");
    pause();
    end();
}
