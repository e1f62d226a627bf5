/* fallocate: mode 0 allocates zeroed blocks and grows the file; FALLOC_FL_KEEP_SIZE
 * allocates inside the file without changing its size; other modes are EOPNOTSUPP. */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

static int err(int r) { return r < 0 ? errno : 0; }

int main(void)
{
    begin("fs_fallocate");
    int fd = open("/falloc", O_CREAT | O_RDWR, 0644);
    struct stat st;
    check_eq("fallocate 100000 bytes", 0, err(fallocate(fd, 0, 0, 100000)));
    fstat(fd, &st);
    check_eq("size grows to 100000", 100000, st.st_size);
    check("blocks allocated (25 blocks, plus an indirect one)", st.st_blocks >= 25 * 8);
    char buf[100];
    memset(buf, 1, sizeof buf);
    check_eq("reads back", 100, pread(fd, buf, sizeof buf, 50000));
    int zero = 1;
    for (int i = 0; i < 100; i++)
        zero &= buf[i] == 0;
    check("... zeros", zero);

    int sp = open("/falloc-sparse", O_CREAT | O_RDWR, 0644);
    ftruncate(sp, 1 << 20);
    fstat(sp, &st);
    check_eq("a 1 MiB hole has no blocks", 0, st.st_blocks);
    check_eq("KEEP_SIZE over the first 64 KiB", 0, err(fallocate(sp, FALLOC_FL_KEEP_SIZE, 0, 65536)));
    fstat(sp, &st);
    check_eq("size unchanged", 1 << 20, st.st_size);
    check_eq("16 blocks allocated, plus an indirect one", 17 * 8, st.st_blocks);
    check_eq("PUNCH_HOLE: EOPNOTSUPP", EOPNOTSUPP,
             err(fallocate(sp, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096)));
    check_eq("a zero length: EINVAL", EINVAL, err(fallocate(sp, 0, 0, 0)));
    check_eq("a negative offset: EINVAL", EINVAL, err(fallocate(sp, 0, -1, 10)));
    int ro = open("/falloc", O_RDONLY);
    check_eq("a read-only fd: EBADF", EBADF, err(fallocate(ro, 0, 0, 10)));
    int p[2];
    pipe(p);
    check_eq("a pipe: ESPIPE", ESPIPE, err(fallocate(p[1], 0, 0, 10)));
    end();
}
