/* fallocate and SEEK_DATA/SEEK_HOLE on a tmpfs file (/tmp): fallocate gives a range zeroed
 * pages and grows the file (KEEP_SIZE: pages, not size); data and holes are found by page. */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

static int err(long r) { return r < 0 ? errno : 0; }

static long shmem_kb(void)
{
    char text[4096];
    int fd = open("/proc/meminfo", O_RDONLY);
    long n = read(fd, text, sizeof text - 1);
    close(fd);
    text[n > 0 ? n : 0] = 0;
    char *at = strstr(text, "Shmem:");
    return at ? atol(at + 6) : -1;
}

int main(void)
{
    begin("tmp_fallocate");
    int fd = open("/tmp/falloc", O_CREAT | O_RDWR | O_TRUNC, 0644);
    struct stat st;
    check_eq("fallocate 10000 bytes", 0, err(fallocate(fd, 0, 0, 10000)));
    fstat(fd, &st);
    check_eq("size grows to 10000", 10000, st.st_size);
    check_eq("three pages held", 3 * 8, st.st_blocks);
    char buf[100];
    memset(buf, 1, sizeof buf);
    check_eq("reads back", 100, pread(fd, buf, sizeof buf, 5000));
    int zero = 1;
    for (int i = 0; i < 100; i++)
        zero &= buf[i] == 0;
    check("... zeros", zero);
    check_eq("KEEP_SIZE past the end", 0, err(fallocate(fd, FALLOC_FL_KEEP_SIZE, 16384, 4096)));
    fstat(fd, &st);
    check_eq("size unchanged", 10000, st.st_size);
    check_eq("a fourth page held", 4 * 8, st.st_blocks);
    check("/proc/meminfo's Shmem counts them", shmem_kb() >= 16);
    check_eq("PUNCH_HOLE: EOPNOTSUPP", EOPNOTSUPP,
             err(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096)));
    check_eq("a zero length: EINVAL", EINVAL, err(fallocate(fd, 0, 0, 0)));
    check_eq("more than the tmpfs holds: ENOSPC", ENOSPC, err(fallocate(fd, 0, 0, 1LL << 40)));
    fstat(fd, &st);
    check_eq("... and nothing was allocated", 4 * 8, st.st_blocks);
    check_eq("past the largest size: EFBIG", EFBIG, err(fallocate(fd, 0, 0x7fffffffffff0000LL, 1 << 20)));

    int sp = open("/tmp/sparse", O_CREAT | O_RDWR | O_TRUNC, 0644);
    char block[8192];
    memset(block, 'd', sizeof block);
    pwrite(sp, block, 8192, 0);
    pwrite(sp, block, 4096, 1 << 20);
    check_eq("SEEK_DATA from 0", 0, lseek(sp, 0, SEEK_DATA));
    check_eq("SEEK_HOLE from 0: after the first 8K", 8192, lseek(sp, 0, SEEK_HOLE));
    check_eq("SEEK_HOLE from inside the hole", 10000, lseek(sp, 10000, SEEK_HOLE));
    check_eq("SEEK_DATA from the hole: 1M", 1 << 20, lseek(sp, 8192, SEEK_DATA));
    check_eq("SEEK_DATA inside data stays put", (1 << 20) + 100, lseek(sp, (1 << 20) + 100, SEEK_DATA));
    check_eq("SEEK_HOLE in the last data: end of file", (1 << 20) + 4096, lseek(sp, (1 << 20) + 1, SEEK_HOLE));
    errno = 0;
    check_eq("SEEK_DATA at end of file", -1, lseek(sp, (1 << 20) + 4096, SEEK_DATA));
    check_eq("... ENXIO", ENXIO, errno);
    ftruncate(sp, 1 << 21);
    errno = 0;
    check_eq("SEEK_DATA in a trailing hole", -1, lseek(sp, (1 << 20) + 8192, SEEK_DATA));
    check_eq("... ENXIO", ENXIO, errno);
    check_eq("SEEK_HOLE in a trailing hole", (1 << 20) + 8192, lseek(sp, (1 << 20) + 8192, SEEK_HOLE));
    check_eq("the offset moved there", (1 << 20) + 8192, lseek(sp, 0, SEEK_CUR));
    unlink("/tmp/falloc");
    unlink("/tmp/sparse");
    end();
}
