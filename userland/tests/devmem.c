/* The memory devices: /dev/null reads as end of file and takes any write; /dev/zero
 * reads as zeros however much is asked, over bytes that were not zero before, at any
 * offset; neither has a position to seek to. */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#define BIG (3 << 20)

int main(void)
{
    begin("devmem");
    int fd = open("/dev/null", O_RDWR);
    check("open /dev/null", fd >= 0);
    char small[16];
    check_eq("read /dev/null is end of file", 0, read(fd, small, sizeof small));
    check_eq("write /dev/null takes every byte", 11, write(fd, "hello world", 11));
    close(fd);

    fd = open("/dev/zero", O_RDONLY);
    check("open /dev/zero", fd >= 0);
    unsigned char *buf = malloc(BIG);
    memset(buf, 0xAB, BIG);
    check_eq("read 3 MiB of /dev/zero", BIG, read(fd, buf, BIG));
    long nonzero = 0;
    for (long i = 0; i < BIG; i++)
        nonzero += buf[i] != 0;
    check_eq("bytes not zero afterwards", 0, nonzero);
    check_eq("a read into a wild pointer is EFAULT", -EFAULT,
             read(fd, (void *)0x10, 16) < 0 ? -errno : 0);
    check_eq("lseek on it lands at 0, as on Linux", 0, lseek(fd, 4096, SEEK_SET));
    memset(buf, 0xAB, 64);
    check_eq("pread at any offset reads zeros", 64, pread(fd, buf, 64, 1 << 30));
    check_eq("first byte after pread", 0, buf[0]);
    close(fd);
    end();
}
