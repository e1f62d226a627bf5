/* Fault-around stays inside the region that faulted: a sequential stream up to a region's
 * end maps nothing of the region just above it, and nothing of a PROT_NONE guard (a write
 * there is still SIGSEGV). */
#include "check.h"
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>

#define PG 4096

static sigjmp_buf back;

static void on_segv(int sig)
{
    (void)sig;
    siglongjmp(back, 1);
}

static long minflt(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_minflt;
}

int main(void)
{
    begin("fault_around_bounds");
    /* three regions, low to high: a (48 pages, read-write), a guard (16, PROT_NONE), and
     * b (32, read-write) made by MAP_FIXED right above the guard */
    unsigned char *a = mmap(NULL, 96 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check("mmap of 96 pages", a != MAP_FAILED);
    unsigned char *guard = a + 48 * PG, *b = a + 64 * PG;
    check_eq("mprotect of the guard", 0, mprotect(guard, 16 * PG, PROT_NONE));
    check("b mapped over the top 32 pages",
          mmap(b, 32 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == b);
    for (int i = 0; i < 48; i++)
        a[i * PG] = 1;
    signal(SIGSEGV, on_segv);
    volatile int segv = 0;
    if (sigsetjmp(back, 1) == 0)
        guard[0] = 1;
    else
        segv = 1;
    check_eq("a write to the guard after the stream is SIGSEGV", 1, segv);
    /* b top down, so that b's own faults map one page each: all 32 must fault */
    long before = minflt();
    for (int i = 31; i >= 0; i--)
        b[i * PG] = 2;
    check_eq("faults in b: none of its pages was mapped by a's stream", 32, minflt() - before);
    /* a stream in b up to its end: the next region (none here) is not reached, and a's
     * pages all read back */
    int wrong = 0;
    for (int i = 0; i < 48; i++)
        wrong += a[i * PG] != 1;
    check_eq("a's pages intact", 0, wrong);
    end();
}
