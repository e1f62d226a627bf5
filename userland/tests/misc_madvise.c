/* madvise(MADV_DONTNEED) drops private anonymous pages: they read back as zero and their
 * frames are free again (sysinfo's freeram); unknown advice and unaligned addresses fail. */
#include "check.h"
#include <errno.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>

#define PG 4096
#define NPAGES 256

static unsigned long free_pages(void)
{
    struct sysinfo si;
    if (sysinfo(&si) != 0)
        fail("sysinfo failed");
    return si.freeram * si.mem_unit / PG;
}

int main(void)
{
    begin("misc_madvise");
    char *m = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check("mmap 1 MiB", m != MAP_FAILED);
    for (int i = 0; i < NPAGES; i++)
        m[i * PG] = 'x';
    unsigned long before = free_pages();
    check_eq("MADV_DONTNEED", 0, madvise(m, NPAGES * PG, MADV_DONTNEED));
    unsigned long after = free_pages();
    /* (a few frames may have gone meanwhile to the stack and page tables of the calls) */
    check("the 256 frames are free again", after >= before + NPAGES - 8);
    int nonzero = 0;
    for (int i = 0; i < NPAGES; i++)
        nonzero += m[i * PG] != 0;
    check_eq("pages read back as zero", 0, nonzero);
    m[5] = 'y';
    check_eq("and are writable again", 'y', m[5]);
    check_eq("MADV_WILLNEED accepted", 0, madvise(m, PG, MADV_WILLNEED));
    check_eq("MADV_SEQUENTIAL accepted", 0, madvise(m, PG, MADV_SEQUENTIAL));
    check_eq("MADV_HUGEPAGE accepted", 0, madvise(m, PG, MADV_HUGEPAGE));
    errno = 0;
    check_eq("unknown advice fails", -1, madvise(m, PG, 999));
    check_eq("... EINVAL", EINVAL, errno);
    errno = 0;
    check_eq("unaligned start fails", -1, madvise(m + 1, PG, MADV_DONTNEED));
    check_eq("... EINVAL", EINVAL, errno);
    munmap(m, NPAGES * PG);
    errno = 0;
    check_eq("unmapped range fails", -1, madvise(m, PG, MADV_NORMAL));
    check_eq("... ENOMEM", ENOMEM, errno);
    end();
}
