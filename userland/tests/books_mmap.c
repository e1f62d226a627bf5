/* 1000 times: mmap 16 pages (private anonymous, shared anonymous in turn), touch each,
 * munmap.  Afterwards exactly as many frames are free as before (sysinfo's freeram
 * counts frames): every page of every mapping went back (issue 21). */
#include "check.h"
#include <sys/mman.h>
#include <sys/sysinfo.h>

#define ROUNDS 1000
#define PAGES 16

static long free_frames(void)
{
    struct sysinfo si;
    if (sysinfo(&si) != 0)
        fail("sysinfo failed");
    return (long)si.freeram;
}

static int cycle(int i)
{
    int flags = (i & 1 ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS;
    char *p = mmap(0, PAGES * 4096, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (p == MAP_FAILED)
        fail("mmap number %d failed", i);
    int sum = 0;
    for (int k = 0; k < PAGES; k++) {
        p[k * 4096] = (char)(k + 1);
        sum += p[k * 4096];
    }
    if (munmap(p, PAGES * 4096) != 0)
        fail("munmap number %d failed", i);
    return sum == PAGES * (PAGES + 1) / 2;
}

int main(void)
{
    begin("books_mmap");
    cycle(0);                               /* warm up: page tables in place */
    cycle(1);
    long before = free_frames();
    int good = 0;
    for (int i = 2; i < ROUNDS + 2; i++)
        good += cycle(i);
    check_eq("mmap/touch/munmap cycles that read back what they wrote", ROUNDS, good);
    check_eq("free frames after the cycles, as before them", before, free_frames());
    end();
}
