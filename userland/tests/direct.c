/* Direct I/O (seed 003): O_DIRECT reads and writes, and mmap with MAP_DIRECT, MAP_BLOCK,
 * MAP_NOSYNC and MAP_FIXED, all agreeing with buffered reads.
 *   direct odirect FILE PAGES     O_DIRECT read, compare with read(); O_DIRECT write, read back
 *   direct mapdirect FILE PAGES   MAP_DIRECT | MAP_BLOCK | MAP_PRIVATE read
 *   direct nosync FILE PAGES      MAP_SHARED | MAP_NOSYNC: write, munmap (file unchanged)
 *   direct fixed FILE PAGES       MAP_FIXED | MAP_DIRECT over touched anonymous pages */
#include "check.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <ukern.h>

#define PAGE 4096

static long check_numbered(const unsigned char *p, long pages)
{
    long bad = 0;
    for (long i = 0; i < pages; i++)
        bad += p[i * PAGE] != (unsigned char)i || p[i * PAGE + PAGE - 1] != (unsigned char)i;
    return bad;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    const char *mode = argv[1], *path = argv[2];
    long pages = atol(argv[3]), len = pages * PAGE;
    begin("direct");
    if (!strcmp(mode, "odirect")) {
        unsigned char *a = aligned_alloc(PAGE, len), *b = aligned_alloc(PAGE, len);
        int fd = open(path, O_RDWR | O_DIRECT);
        check("open O_DIRECT", fd >= 0);
        check_eq("O_DIRECT read", len, read(fd, a, len));
        check_eq("pages that differ from their number", 0, check_numbered(a, pages));
        int plain = open(path, O_RDONLY);
        check_eq("buffered read", len, read(plain, b, len));
        check("buffered and direct reads agree", memcmp(a, b, len) == 0);
        check_eq("an unaligned O_DIRECT read is EINVAL", -1, pread(fd, a + 1, PAGE, 0));
        memset(a, 'D', PAGE);
        check_eq("O_DIRECT pwrite of page 1", PAGE, pwrite(fd, a, PAGE, PAGE));
        check_eq("buffered pread sees it", PAGE, pread(plain, b, PAGE, PAGE));
        check_eq("byte of page 1", 'D', b[100]);
        end();
    }
    int fd = open(path, O_RDWR);
    check("open", fd >= 0);
    if (!strcmp(mode, "mapdirect")) {
        unsigned char *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_DIRECT | MAP_BLOCK, fd, 0);
        check("mmap MAP_DIRECT | MAP_BLOCK", m != MAP_FAILED);
        check_eq("pages that differ from their number", 0, check_numbered(m, pages));
        end();
    }
    if (!strcmp(mode, "nosync")) {
        unsigned char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NOSYNC, fd, 0);
        check("mmap MAP_SHARED | MAP_NOSYNC", m != MAP_FAILED);
        memset(m, 'N', len);
        check_eq("msync", 0, msync(m, len, MS_SYNC));
        check_eq("munmap", 0, munmap(m, len));
        end();
    }
    /* fixed: an anonymous buffer, touched; then the file mapped over it, reusing its pages */
    unsigned char *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(buf, 0x77, len);
    unsigned char *m = mmap(buf, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_DIRECT, fd, 0);
    check("mmap MAP_FIXED | MAP_DIRECT at the buffer", m == buf);
    check_eq("pages that differ from their number", 0, check_numbered(m, pages));
    end();
}
