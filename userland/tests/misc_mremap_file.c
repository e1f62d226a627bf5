/* mremap of file mappings: a private mapping of one page grown to three maps the file's
 * next pages (moving it when the next addresses are taken); a shared one grown in place
 * writes through to the file. */
#define _GNU_SOURCE
#include "check.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG 4096

int main(void)
{
    begin("misc_mremap_file");
    int fd = open("/remapped", O_CREAT | O_TRUNC | O_RDWR, 0644);
    check("create /remapped", fd >= 0);
    char page[PG];
    for (int i = 0; i < 3; i++) {
        memset(page, 'a' + i, PG);
        if (write(fd, page, PG) != PG)
            fail("write page %d", i);
    }
    char *one = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0);
    check("mmap the first page", one != MAP_FAILED);
    /* take the addresses after it, so that growing must move */
    char *after = mmap(one + PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    char *three = mremap(one, PG, 3 * PG, MREMAP_MAYMOVE);
    check("grown to three pages", three != MAP_FAILED);
    check("moved, since the next page was taken", after == MAP_FAILED || three != one);
    check("page 0 is the file's", three[0] == 'a' && three[PG - 1] == 'a');
    check("page 1 is the file's", three[PG] == 'b');
    check("page 2 is the file's", three[2 * PG + 100] == 'c');

    /* three pages of addresses; the file's page 0 at the first, the rest left free */
    char *room = mmap(NULL, 3 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *shared = mmap(room, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
    check("a shared mapping of page 0", shared == room);
    munmap(room + PG, 2 * PG);
    char *grown = mremap(shared, PG, 2 * PG, 0);
    check("grown in place", grown == shared);
    grown[PG + 5] = 'Z';
    check_eq("msync", 0, msync(grown, 2 * PG, MS_SYNC));
    char c = 0;
    check_eq("pread sees the write through the grown part", 1, pread(fd, &c, 1, PG + 5));
    check_eq("... Z", 'Z', c);
    close(fd);
    unlink("/remapped");
    end();
}
