/* ioctl BLKGETSIZE64 and BLKGETSIZE on the raw disk: its size in bytes and in sectors;
 * on a regular file, ENOTTY. */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/fs.h>

int main(int argc, char **argv)
{
    begin("fs_blkgetsize");
    int fd = open("/dev/disk0", O_RDONLY);
    check("open /dev/disk0", fd >= 0);
    unsigned long long bytes = 0;
    check_eq("BLKGETSIZE64", 0, ioctl(fd, BLKGETSIZE64, &bytes));
    check_eq("the size given by the host", atoll(argv[1]), (long long)bytes);
    unsigned long sectors = 0;
    check_eq("BLKGETSIZE", 0, ioctl(fd, BLKGETSIZE, &sectors));
    check_eq("in 512-byte sectors", (long long)(bytes / 512), (long long)sectors);
    int f = open("/etc/motd", O_RDONLY);
    errno = 0;
    check_eq("on a regular file", -1, ioctl(f, BLKGETSIZE64, &bytes));
    check_eq("... ENOTTY", ENOTTY, errno);
    end();
}
