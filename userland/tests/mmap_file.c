/* mmap of files: MAP_SHARED writes are seen by read() and reach the disk (msync, and at
 * exit); MAP_PRIVATE writes stay private; both read what write() put there. */
#include "check.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#define SIZE (3 * 4096)

int main(void)
{
    begin("mmap_file");
    int fd = open("/mapped", O_CREAT | O_TRUNC | O_RDWR, 0644);
    static char buf[SIZE];
    for (int i = 0; i < SIZE; i++)
        buf[i] = 'a' + i % 26;
    check_eq("write the file", SIZE, write(fd, buf, SIZE));

    char *shared = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    check("MAP_SHARED mapping", shared != MAP_FAILED);
    check_eq("it reads what write() wrote", 'c', shared[2]);
    check_eq("and on the last page", 'a' + (2 * 4096 + 5) % 26, shared[2 * 4096 + 5]);
    memcpy(shared + 4096, "SHARED", 6);
    char got[8] = {0};
    check_eq("pread after a write through the mapping", 6, pread(fd, got, 6, 4096));
    check("read() sees the mapping's bytes", memcmp(got, "SHARED", 6) == 0);
    check_eq("msync(MS_SYNC)", 0, msync(shared, SIZE, MS_SYNC));

    char *private = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    check("MAP_PRIVATE mapping", private != MAP_FAILED);
    check("the private mapping sees the shared write", memcmp(private + 4096, "SHARED", 6) == 0);
    memcpy(private, "PRIVATE", 7);
    check_eq("pread of page 0", 7, pread(fd, got, 7, 0));
    check("the file does not see the private write", memcmp(got, "abcdefg", 7) == 0);
    check("the shared mapping does not either", memcmp(shared, "abcdefg", 7) == 0);

    memcpy(shared + 8192, "ATEXIT", 6);         /* never msynced: written back at exit */
    check_eq("munmap private", 0, munmap(private, SIZE));
    close(fd);
    end();
}
