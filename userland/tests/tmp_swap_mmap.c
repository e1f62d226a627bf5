/* Shared mappings of a tmpfs file under memory pressure: two processes map the same
 * /dev/shm file MAP_SHARED, each writes half of it, and each then checks every page --
 * its own and the other's -- while the file is larger than the machine's free memory, so
 * pages are paged out from under both mappers and come back through the file.  With
 * "anon", the same with MAP_SHARED | MAP_ANONYMOUS memory (a memory file with no name).
 * Usage: tmp_swap_mmap MIB [anon] */
#include "check.h"
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096

static void fill(volatile uint64_t *m, long from, long to, uint64_t seed)
{
    for (long p = from; p < to; p++)
        for (int i = 0; i < PAGE / 8; i += 64)
            m[p * (PAGE / 8) + i] = (p << 16) ^ i ^ seed;
}

static long verify(volatile uint64_t *m, long pages, uint64_t seed)
{
    long bad = 0;
    for (long p = 0; p < pages; p++)
        for (int i = 0; i < PAGE / 8; i += 64)
            bad += m[p * (PAGE / 8) + i] != ((p << 16) ^ i ^ seed);
    return bad;
}

int main(int argc, char **argv)
{
    begin("tmp_swap_mmap");
    long mib = argc > 1 ? atol(argv[1]) : 12;
    long pages = mib << 8, size = pages * PAGE;
    int anon = argc > 2 && strcmp(argv[2], "anon") == 0;
    int fd = open("/dev/shm/shared", O_RDWR | O_CREAT | O_TRUNC, 0600);
    check("open /dev/shm/shared", fd >= 0);
    check_eq("ftruncate", 0, ftruncate(fd, size));
    volatile uint64_t *m = anon ? mmap(0, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)
                                : mmap(0, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    check("mmap shared", m != MAP_FAILED);
    int ready[2], done[2];
    pipe(ready);
    pipe(done);
    pid_t child = fork();
    char c;
    if (child == 0) {
        fill(m, pages / 2, pages, 0x5EED);          /* the child's half */
        write(ready[1], "c", 1);
        read(done[0], &c, 1);                       /* the parent's half is written too */
        _exit(verify(m, pages, 0x5EED) ? 3 : 0);
    }
    fill(m, 0, pages / 2, 0x5EED);                  /* the parent's half */
    read(ready[0], &c, 1);
    write(done[1], "p", 1);
    check_eq("pages wrong as the parent sees them", 0, verify(m, pages, 0x5EED));
    int status = 0;
    waitpid(child, &status, 0);
    check_eq("child saw every page (exit status)", 0, WEXITSTATUS(status));

    /* read() sees what the mappings wrote, including pages that went to swap */
    uint64_t word;
    if (!anon) {
        check_eq("pread a word", 8, pread(fd, &word, 8, (pages - 1) * PAGE + 64 * 8));
        check_eq("its value", ((pages - 1) << 16) ^ 64 ^ 0x5EED, word);
    }
    munmap((void *)m, size);
    close(fd);
    unlink("/dev/shm/shared");
    end();
}
