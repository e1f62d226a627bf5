/* Fault-around in a mapped file: reading a file's pages in order through a private
 * mapping maps the pages the buffer cache already holds a window at a time (fewer faults
 * than pages), with the file's bytes; a shared mapping written in order reaches the file. */
#include "check.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#define PG 4096
#define NPAGES 64

static long faults(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_minflt + u.ru_majflt;
}

int main(int argc, char **argv)
{
    begin("fault_around_file");
    const char *path = argc > 1 ? argv[1] : "/fa_data";     /* on the disk, or in /tmp */
    static unsigned char page[PG];
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    check("create the file", fd >= 0);
    for (int i = 0; i < NPAGES; i++) {
        memset(page, i + 1, PG);
        if (write(fd, page, PG) != PG)
            fail("write of page %d", i);
    }
    unsigned char *p = mmap(NULL, NPAGES * PG, PROT_READ, MAP_PRIVATE, fd, 0);
    check("mmap private", p != MAP_FAILED);
    long before = faults();
    int wrong = 0;
    for (int i = 0; i < NPAGES; i++)
        wrong += p[i * PG + 17] != i + 1;
    long taken = faults() - before;
    check_eq("pages with the wrong byte", 0, wrong);
    check("fewer faults than half the pages", taken < NPAGES / 2);
    munmap(p, NPAGES * PG);

    unsigned char *s = mmap(NULL, NPAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    check("mmap shared", s != MAP_FAILED);
    for (int i = 0; i < NPAGES; i++)
        s[i * PG + 5] = (unsigned char)(200 + i % 50);
    check_eq("msync", 0, msync(s, NPAGES * PG, MS_SYNC));
    wrong = 0;
    for (int i = 0; i < NPAGES; i++) {
        unsigned char c;
        pread(fd, &c, 1, (off_t)i * PG + 5);
        wrong += c != (unsigned char)(200 + i % 50);
    }
    check_eq("bytes written through the shared mapping missing from the file", 0, wrong);
    close(fd);
    unlink(path);
    end();
}
