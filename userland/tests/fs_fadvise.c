/* posix_fadvise: valid advice on a file is accepted (0); a bad descriptor is EBADF, a pipe
 * ESPIPE, unknown advice or a negative length EINVAL (posix_fadvise returns the error). */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* the error, however the C library reports it (POSIX: returned; some versions: -1, errno) */
static int adv(int fd, off_t off, off_t len, int advice)
{
    int r = posix_fadvise(fd, off, len, advice);
    return r == -1 ? errno : r;
}

int main(void)
{
    begin("fs_fadvise");
    int fd = open("/tmp/advised", O_CREAT | O_RDWR, 0600);
    check_eq("SEQUENTIAL", 0, adv(fd, 0, 0, POSIX_FADV_SEQUENTIAL));
    check_eq("DONTNEED", 0, adv(fd, 0, 4096, POSIX_FADV_DONTNEED));
    check_eq("unknown advice", EINVAL, adv(fd, 0, 0, 99));
    check_eq("negative length", EINVAL, adv(fd, 0, -1, POSIX_FADV_NORMAL));
    check_eq("a bad fd", EBADF, adv(77, 0, 0, POSIX_FADV_NORMAL));
    int p[2];
    pipe(p);
    check_eq("a pipe", ESPIPE, adv(p[0], 0, 0, POSIX_FADV_NORMAL));
    unlink("/tmp/advised");
    end();
}
