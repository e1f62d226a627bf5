/* tmpfs pages are anonymous memory: a /tmp file larger than the machine's RAM goes to
 * swap page by page, and every byte reads back intact (read(), pread() at odd offsets,
 * and after truncating the file to a size inside a swapped page).
 * Usage: tmp_swap MIB */
#include "check.h"
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 4096

static void stamp(unsigned char *page, uint32_t n)
{
    for (int i = 0; i < PAGE; i += 4) {
        uint32_t v = n * 2654435761u + i;
        memcpy(page + i, &v, 4);
    }
}

int main(int argc, char **argv)
{
    begin("tmp_swap");
    long mib = argc > 1 ? atol(argv[1]) : 20;
    long pages = mib << 8;
    int fd = open("/tmp/big", O_RDWR | O_CREAT | O_TRUNC, 0600);
    check("open /tmp/big", fd >= 0);
    static unsigned char buf[16 * PAGE], want[PAGE];
    long written = 0;
    for (long p = 0; p < pages; p += 16) {
        for (int k = 0; k < 16; k++)
            stamp(buf + k * PAGE, p + k);
        written += write(fd, buf, sizeof buf);
    }
    check_eq("bytes written", pages * PAGE, written);
    struct stat st;
    fstat(fd, &st);
    check_eq("st_size", pages * PAGE, st.st_size);

    lseek(fd, 0, SEEK_SET);
    long bad = 0, got = 0;
    for (long p = 0; p < pages; p += 16) {
        ssize_t n = read(fd, buf, sizeof buf);
        got += n;
        for (int k = 0; k < 16 && n == sizeof buf; k++) {
            stamp(want, p + k);
            bad += memcmp(buf + k * PAGE, want, PAGE) != 0;
        }
    }
    check_eq("bytes read back", pages * PAGE, got);
    check_eq("pages read back wrong", 0, bad);

    /* pread across a page boundary in the middle of the file */
    long mid = pages / 2;
    unsigned char two[2 * PAGE];
    stamp(two, mid);
    stamp(two + PAGE, mid + 1);
    check_eq("pread across a boundary", 100, pread(fd, buf, 100, (mid + 1) * PAGE - 50));
    check_eq("its bytes", 0, memcmp(buf, two + PAGE - 50, 100));

    /* a small write into a page that is probably in swap keeps the rest of the page */
    check_eq("pwrite 3 bytes", 3, pwrite(fd, "xyz", 3, 7 * PAGE + 10));
    check_eq("pread that page", PAGE, pread(fd, buf, PAGE, 7 * PAGE));
    stamp(want, 7);
    memcpy(want + 10, "xyz", 3);
    check_eq("the page around the write", 0, memcmp(buf, want, PAGE));

    /* truncate inside a page: the tail reads as zeros after the file grows again */
    check_eq("ftruncate", 0, ftruncate(fd, 3 * PAGE + 100));
    check_eq("ftruncate up", 0, ftruncate(fd, 4 * PAGE));
    check_eq("pread the cut page", PAGE, pread(fd, buf, PAGE, 3 * PAGE));
    stamp(want, 3);
    memset(want + 100, 0, PAGE - 100);
    check_eq("kept head, zero tail", 0, memcmp(buf, want, PAGE));
    close(fd);
    check_eq("unlink", 0, unlink("/tmp/big"));
    end();
}
