/* labs/pgtbl: ukern_pgaccess reports the pages accessed since the last call (the Accessed
 * bit of their PTEs) and clears those bits.  All 32 pages of a buffer are touched, then
 * pages 1, 2 and 30 only: exactly those are reported, and nothing after.  Since the pages
 * are in the TLB, the second report is right only if clearing the bits flushed the TLB. */
#include "check.h"
#include "ukern.h"
#include <errno.h>
#include <sys/mman.h>

#define NPAGES 32
#define PG 4096

#define check_mask(what, expected, got) do { \
        unsigned long long e_ = (expected), g_ = (got); \
        if (e_ != g_) fail("%s: expected mask %#llx, got %#llx", (what), e_, g_); \
        msg("%s: %#llx", (what), g_); \
    } while (0)

int main(void)
{
    begin("pgtbl_access");
    volatile char *buf = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check("mmap 32 pages", buf != MAP_FAILED);
    for (int i = 0; i < NPAGES; i++)
        buf[i * PG] = 1;
    uint64_t mask = 0;
    check_eq("pgaccess returns 0", 0, ukern_pgaccess((void *)buf, NPAGES, &mask));
    check_mask("after touching all 32 pages", 0xFFFFFFFFull, mask);

    (void)buf[1 * PG];                 /* a read */
    buf[2 * PG + 100] = 2;             /* a write */
    (void)buf[30 * PG + 4095];         /* the page's last byte */
    mask = 0;
    check_eq("pgaccess returns 0", 0, ukern_pgaccess((void *)buf, NPAGES, &mask));
    check_mask("after touching pages 1, 2 and 30", (1ull << 1) | (1ull << 2) | (1ull << 30), mask);

    mask = 0xdead;
    check_eq("pgaccess returns 0", 0, ukern_pgaccess((void *)buf, NPAGES, &mask));
    check_mask("with nothing touched since", 0, mask);

    (void)buf[7 * PG];
    check_eq("pgaccess on pages 4-11 only", 0, ukern_pgaccess((void *)(buf + 4 * PG), 8, &mask));
    check_mask("page 7 is bit 3 of pages 4-11", 1ull << 3, mask);

    errno = 0;
    check_eq("pgaccess of 65 pages fails", -1, ukern_pgaccess((void *)buf, 65, &mask));
    check_eq("... with EINVAL", EINVAL, errno);
    end();
}
