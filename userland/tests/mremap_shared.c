/* mremap grows a shared mapping of a memory file: a /dev/shm file's mapping takes in the
 * file's next page (and still shares it with write()), and a shared anonymous mapping
 * grows with its first page intact, as on Linux. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "check.h"

#define PAGE 4096

int main(void)
{
    begin("mremap_shared");
    int fd = open("/dev/shm/grow", O_CREAT | O_RDWR | O_TRUNC, 0600);
    check("create /dev/shm/grow", fd >= 0);
    check_eq("ftruncate to 3 pages", 0, ftruncate(fd, 3 * PAGE));
    char *m = mmap(0, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    check("mmap of its first 2 pages", m != MAP_FAILED);
    m[0] = 'a';
    check_eq("pwrite into page 3", 1, pwrite(fd, "z", 1, 2 * PAGE + 5));
    char *g = mremap(m, 2 * PAGE, 3 * PAGE, MREMAP_MAYMOVE);
    check("mremap to 3 pages", g != MAP_FAILED);
    check_eq("page 1 kept", 'a', g[0]);
    check_eq("page 3 is the file's", 'z', g[2 * PAGE + 5]);
    g[2 * PAGE + 6] = 'y';
    char c = 0;
    check_eq("pread sees the write through the grown mapping", 1, pread(fd, &c, 1, 2 * PAGE + 6));
    check_eq("its byte", 'y', c);
    unlink("/dev/shm/grow");

    char *s = mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    check("shared anonymous mapping", s != MAP_FAILED);
    strcpy(s, "kept");
    char *t = mremap(s, PAGE, 2 * PAGE, MREMAP_MAYMOVE);
    check("mremap of a shared anonymous mapping grows it", t != MAP_FAILED);
    check_eq("its first page kept", 0, strcmp(t, "kept"));
    end();
}
