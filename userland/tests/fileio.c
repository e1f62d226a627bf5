/* Files on the ext2 disk: create, write several MiB, read back, seek, pread/pwrite,
 * append, truncate, fsync. */
#include "check.h"
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

#define MIB (1 << 20)
static unsigned char buf[MIB];

static unsigned char pattern(long i) { return (unsigned char)(i * 7 + (i >> 12)); }

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "/tmp_fileio";
    int mib = argc > 2 ? atoi(argv[2]) : 4;
    begin("fileio");
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    check("open with O_CREAT gives a descriptor", fd >= 0);
    for (int m = 0; m < mib; m++) {
        for (int i = 0; i < MIB; i++)
            buf[i] = pattern((long)m * MIB + i);
        if (write(fd, buf, MIB) != MIB)
            fail("write of MiB %d failed", m);
    }
    msg("wrote %d MiB", mib);
    struct stat st;
    check_eq("fstat size", (long)mib * MIB, fstat(fd, &st) == 0 ? st.st_size : -1);
    check_eq("lseek to the start", 0, lseek(fd, 0, SEEK_SET));
    long bad = 0;
    for (int m = 0; m < mib; m++) {
        if (read(fd, buf, MIB) != MIB)
            fail("read of MiB %d failed", m);
        for (int i = 0; i < MIB; i++)
            bad += buf[i] != pattern((long)m * MIB + i);
    }
    check_eq("bytes that differ after reading it all back", 0, bad);
    check_eq("read at end of file returns 0", 0, read(fd, buf, 10));
    check_eq("pwrite in the middle", 5, pwrite(fd, "HELLO", 5, 1000));
    check_eq("pread sees it", 5, pread(fd, buf, 5, 1000));
    check("pread bytes", memcmp(buf, "HELLO", 5) == 0);
    check_eq("lseek SEEK_END", (long)mib * MIB, lseek(fd, 0, SEEK_END));
    check_eq("fsync", 0, fsync(fd));
    check_eq("ftruncate to 3000 bytes", 0, ftruncate(fd, 3000));
    check_eq("size after truncate", 3000, fstat(fd, &st) == 0 ? st.st_size : -1);
    check_eq("close", 0, close(fd));
    fd = open(path, O_WRONLY | O_APPEND);
    check_eq("O_APPEND write", 3, write(fd, "end", 3));
    close(fd);
    check_eq("stat size after append", 3003, stat(path, &st) == 0 ? st.st_size : -1);
    check_eq("read from a closed descriptor is EBADF", -1, read(fd, buf, 1));
    end();
}
