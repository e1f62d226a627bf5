/* mremap: growing in place when the next pages are free, moving when they are not (the
 * contents travel with the pages), shrinking, and the errors Linux gives. */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <sys/mman.h>

#define PG 4096

static void fill(char *p, size_t n, int seed)
{
    for (size_t i = 0; i < n; i += PG)
        p[i] = (char)(seed + i / PG);
}

static int same(const char *p, size_t n, int seed)
{
    for (size_t i = 0; i < n; i += PG)
        if (p[i] != (char)(seed + i / PG))
            return 0;
    return 1;
}

int main(void)
{
    begin("misc_mremap");
    /* reserve 8 pages, keep 4: the 4 after them are free for growth in place */
    char *area = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check("mmap 8 pages", area != MAP_FAILED);
    check_eq("munmap the upper 4", 0, munmap(area + 4 * PG, 4 * PG));
    fill(area, 4 * PG, 10);
    char *grown = mremap(area, 4 * PG, 8 * PG, 0);
    check("grown in place without MAYMOVE", grown == area);
    check("contents kept", same(grown, 4 * PG, 10));
    check_eq("the new pages read as zero", 0, grown[6 * PG]);
    grown[7 * PG] = 5;

    /* a mapping right after it: growing must move */
    /* (something may be there already: that blocks it as well) */
    errno = 0;
    char *blocker = mmap(grown + 8 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    check("a blocker after it", blocker == grown + 8 * PG || errno == EEXIST);
    errno = 0;
    check("without MAYMOVE: fails", mremap(grown, 8 * PG, 16 * PG, 0) == MAP_FAILED);
    check_eq("... with ENOMEM", ENOMEM, errno);
    char *moved = mremap(grown, 8 * PG, 16 * PG, MREMAP_MAYMOVE);
    check("moved", moved != MAP_FAILED && moved != grown);
    check("contents moved along", same(moved, 4 * PG, 10) && moved[7 * PG] == 5);
    check_eq("new tail is zero", 0, moved[15 * PG]);
    errno = 0;
    check_eq("the old place is unmapped", -1, madvise(grown, PG, MADV_NORMAL));
    check_eq("... (madvise: ENOMEM)", ENOMEM, errno);

    /* shrinking keeps the address and unmaps the tail */
    char *small = mremap(moved, 16 * PG, 2 * PG, 0);
    check("shrunk in place", small == moved);
    check("still there", same(small, 2 * PG, 10));

    /* MREMAP_FIXED to a chosen address */
    char *target = mmap(NULL, 4 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *fixed = mremap(small, 2 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, target);
    check("moved to the fixed address", fixed == target);
    check("contents there", same(fixed, 2 * PG, 10));
    fixed[3 * PG] = 1;                  /* the replaced PROT_NONE mapping is gone: writable */

    errno = 0;
    check("unaligned address: fails", mremap(fixed + 1, PG, 2 * PG, MREMAP_MAYMOVE) == MAP_FAILED);
    check_eq("... EINVAL", EINVAL, errno);
    errno = 0;
    check("unmapped address: fails", mremap((char *)0x40000000, PG, 2 * PG, MREMAP_MAYMOVE) == MAP_FAILED);
    check_eq("... EFAULT", EFAULT, errno);
    errno = 0;
    check("FIXED without MAYMOVE: fails", mremap(fixed, PG, PG, MREMAP_FIXED, target + 64 * PG) == MAP_FAILED);
    check_eq("... EINVAL", EINVAL, errno);
    errno = 0;
    check("range beyond the mapping: fails", mremap(fixed, 64 * PG, 128 * PG, MREMAP_MAYMOVE) == MAP_FAILED);
    check_eq("... EFAULT", EFAULT, errno);
    end();
}
