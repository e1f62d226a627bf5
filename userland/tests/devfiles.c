/* Devices as files: /dev/console writes to the console; /dev/disk0 reads the raw disk,
 * whose first sector ends with the MBR signature. */
#include "check.h"
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

int main(void)
{
    begin("devfiles");
    int fd = open("/dev/console", O_WRONLY);
    check("open /dev/console", fd >= 0);
    check_eq("write through it", 23, write(fd, "(devfiles) via console\n", 23));
    struct stat st;
    check("/dev/console is a character device", fstat(fd, &st) == 0 && S_ISCHR(st.st_mode));
    close(fd);
    fd = open("/dev/disk0", O_RDONLY);
    check("open /dev/disk0", fd >= 0);
    unsigned char sector[512];
    check_eq("read sector 0", 512, read(fd, sector, 512));
    check_eq("MBR signature byte 510", 0x55, sector[510]);
    check_eq("MBR signature byte 511", 0xaa, sector[511]);
    check_eq("partition 1 type is Linux (0x83)", 0x83, sector[446 + 4]);
    check_eq("an unaligned read is EINVAL", -1, pread(fd, sector, 100, 3));
    close(fd);
    end();
}
