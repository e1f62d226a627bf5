/* SEEK_DATA and SEEK_HOLE on a sparse file: data at 0..8K, a hole, data at 1M..1M+4K. */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int main(void)
{
    begin("fs_seekdata");
    int fd = open("/sparse", O_CREAT | O_RDWR | O_TRUNC, 0644);
    char block[8192];
    memset(block, 'd', sizeof block);
    pwrite(fd, block, 8192, 0);
    pwrite(fd, block, 4096, 1 << 20);
    check_eq("SEEK_DATA from 0", 0, lseek(fd, 0, SEEK_DATA));
    check_eq("SEEK_HOLE from 0: after the first 8K", 8192, lseek(fd, 0, SEEK_HOLE));
    check_eq("SEEK_HOLE from inside the hole", 10000, lseek(fd, 10000, SEEK_HOLE));
    check_eq("SEEK_DATA from the hole: 1M", 1 << 20, lseek(fd, 8192, SEEK_DATA));
    check_eq("SEEK_DATA inside data stays put", (1 << 20) + 100, lseek(fd, (1 << 20) + 100, SEEK_DATA));
    check_eq("SEEK_HOLE in the last data: end of file", (1 << 20) + 4096, lseek(fd, (1 << 20) + 1, SEEK_HOLE));
    errno = 0;
    check_eq("SEEK_DATA at end of file", -1, lseek(fd, (1 << 20) + 4096, SEEK_DATA));
    check_eq("... ENXIO", ENXIO, errno);
    ftruncate(fd, (1 << 21));
    errno = 0;
    check_eq("SEEK_DATA in a trailing hole", -1, lseek(fd, (1 << 20) + 8192, SEEK_DATA));
    check_eq("... ENXIO", ENXIO, errno);
    check_eq("SEEK_HOLE in a trailing hole", (1 << 20) + 8192, lseek(fd, (1 << 20) + 8192, SEEK_HOLE));
    check_eq("the offset moved there", (1 << 20) + 8192, lseek(fd, 0, SEEK_CUR));
    end();
}
