/* /dev is there without a disk: null, zero, full, and urandom from the kernel's seeded
 * generator (the host test runs this twice with one seed and compares the bytes); /proc
 * shows descriptors as links, the working directory, and the mount table. */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int main(void)
{
    begin("tmp_devices");
    char buf[16];
    int fd = open("/dev/null", O_RDWR);
    check("/dev/null opens", fd >= 0);
    check_eq("it reads as end of file", 0, read(fd, buf, sizeof buf));
    fd = open("/dev/zero", O_RDONLY);
    memset(buf, 1, sizeof buf);
    check("/dev/zero reads zeros", read(fd, buf, 16) == 16 && buf[0] == 0 && buf[15] == 0);
    fd = open("/dev/full", O_WRONLY);
    check_eq("/dev/full is ENOSPC", -ENOSPC, write(fd, "x", 1) < 0 ? -errno : 0);
    fd = open("/dev/urandom", O_RDONLY);
    unsigned char r[16];
    check_eq("/dev/urandom gives 16 bytes", 16, read(fd, r, 16));
    printf("urandom:");
    for (int i = 0; i < 16; i++)
        printf("%02x", r[i]);
    printf("\n");
    check("/dev/tty opens", open("/dev/tty", O_RDWR) >= 0);

    char link[256];
    long n = readlink("/proc/self/fd/1", link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    check("/proc/self/fd/1 is the console", strcmp(link, "/dev/console") == 0);
    fd = open("/tmp/named", O_CREAT | O_RDWR, 0600);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    n = readlink(path, link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    check("/proc/self/fd/N names the open file", strcmp(link, "/tmp/named") == 0);
    chdir("/dev/shm");
    n = readlink("/proc/self/cwd", link, sizeof link - 1);
    link[n > 0 ? n : 0] = 0;
    check("/proc/self/cwd is the working directory", strcmp(link, "/dev/shm") == 0);
    fd = open("/proc/mounts", O_RDONLY);
    char mounts[1024] = {0};
    read(fd, mounts, sizeof mounts - 1);
    check("/proc/mounts lists /tmp", strstr(mounts, " /tmp tmpfs rw") != NULL);
    check("and /proc", strstr(mounts, " /proc proc ro") != NULL);
    end();
}
