/* A writable MAP_SHARED mapping of a host file (ukern run --rw): what the mapping writes
 * reaches the file at msync, at munmap and when a process exits, and two processes
 * mapping the file share its pages.  The file is 5000 bytes: the mapping's bytes past the
 * end never grow it.  Usage: host_mmap_shared FILE (5000 bytes of '.') */
#include "check.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char at(int fd, off_t off)
{
    char c = 0;
    pread(fd, &c, 1, off);
    return c;
}

int main(int argc, char **argv)
{
    begin("host_mmap_shared");
    int fd = open(argv[1], O_RDWR);
    check("open the host file read-write", fd >= 0);
    char *m = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    check("mmap MAP_SHARED, PROT_WRITE", m != MAP_FAILED);
    check_eq("the mapping shows the file", '.', m[4999]);
    m[0] = 'A';
    m[6000] = 'Z';                              /* past the end of the file */
    check_eq("msync", 0, msync(m, 8192, MS_SYNC));
    check_eq("read() sees the write after msync", 'A', at(fd, 0));

    pid_t child = fork();
    if (child == 0) {
        char *c = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        c[4096] = 'C';                          /* written back when the child exits */
        _exit(c[0] == 'A' ? 0 : 1);
    }
    int status;
    waitpid(child, &status, 0);
    check_eq("the child saw the parent's byte", 0, WEXITSTATUS(status));
    check_eq("the parent's mapping sees the child's byte", 'C', m[4096]);
    check_eq("and so does the file, since the child exited", 'C', at(fd, 4096));

    m[100] = 'U';
    check_eq("munmap", 0, munmap(m, 8192));
    check_eq("munmap wrote it back", 'U', at(fd, 100));
    struct stat st;
    fstat(fd, &st);
    check_eq("the file did not grow", 5000, st.st_size);
    end();
}
