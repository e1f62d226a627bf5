/* Lab mmap: a file mapped MAP_SHARED is the file -- read() sees the mapping's writes, a
 * forked child's writes reach the parent's mapping, and munmap (or exit) hands the
 * changes on to the disk; a MAP_PRIVATE mapping reads the file but its writes stay in the
 * process.  Run with the argument "hold" it maps /lab_mmap both ways, touches a few pages
 * and waits in pause() so the grader can look at its page tables. */
#include "check.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096
#define SIZE (4 * PAGE)

static char expected(int i) { return 'A' + i % 23; }

static int make_file(void)
{
    int fd = open("/lab_mmap", O_CREAT | O_TRUNC | O_RDWR, 0644);
    static char buf[SIZE];
    for (int i = 0; i < SIZE; i++)
        buf[i] = expected(i);
    check_eq("write the 4-page file", SIZE, write(fd, buf, SIZE));
    return fd;
}

static int hold(void)
{
    int fd = make_file();
    volatile char *shared = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    volatile char *private = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    check("both mappings", shared != MAP_FAILED && private != MAP_FAILED);
    check_eq("shared page 0 read", expected(0), shared[0]);
    shared[PAGE + 1] = '!';
    check_eq("private page 0 read", expected(0), private[0]);
    private[PAGE + 1] = '?';
    printf("hold: shared=%p private=%p\n", (void *)shared, (void *)private);
    pause();
    return 0;
}

int main(int argc, char **argv)
{
    begin("mmap_lab");
    if (argc > 1 && strcmp(argv[1], "hold") == 0)
        return hold();
    int fd = make_file();
    char *shared = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    check("MAP_SHARED of the file", shared != MAP_FAILED);
    long wrong = 0;
    for (int i = 0; i < SIZE; i++)
        wrong += shared[i] != expected(i);
    check_eq("bytes of the mapping that differ from the file", 0, wrong);

    memcpy(shared + PAGE + 10, "through-map", 11);
    char got[16] = {0};
    check_eq("pread after a write through the shared mapping", 11, pread(fd, got, 11, PAGE + 10));
    check("read() sees the shared mapping's write", memcmp(got, "through-map", 11) == 0);
    check_eq("pwrite into the file", 8, pwrite(fd, "by-write", 8, 2 * PAGE));
    check("the shared mapping sees pwrite's bytes", memcmp(shared + 2 * PAGE, "by-write", 8) == 0);

    char *private = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    check("MAP_PRIVATE of the file", private != MAP_FAILED);
    check("the private mapping reads the file as it is", memcmp(private + PAGE + 10, "through-map", 11) == 0);
    memcpy(private + 3 * PAGE, "private!", 8);
    check_eq("pread of page 3", 8, pread(fd, got, 8, 3 * PAGE));
    check_eq("the file does not see the private write", expected(3 * PAGE), got[0]);
    check_eq("the shared mapping does not see it either", expected(3 * PAGE), shared[3 * PAGE]);
    check("the private mapping keeps its own write", memcmp(private + 3 * PAGE, "private!", 8) == 0);

    pid_t child = fork();
    if (child == 0) {
        memcpy(shared + 3 * PAGE + 100, "from-child", 10);
        memcpy(private + 100, "child-private", 13);
        _exit(0);
    }
    int status;
    check("wait for the child", waitpid(child, &status, 0) == child && WEXITSTATUS(status) == 0);
    check("the parent's shared mapping sees the child's write",
          memcmp(shared + 3 * PAGE + 100, "from-child", 10) == 0);
    check_eq("the parent's private mapping does not see the child's private write",
             expected(100), private[100]);

    memcpy(shared + 5, "AT-MUNMAP", 9);        /* never msynced: munmap hands it on */
    check_eq("munmap the shared mapping", 0, munmap(shared, SIZE));
    check_eq("munmap the private mapping", 0, munmap(private, SIZE));
    check_eq("pread after munmap", 9, pread(fd, got, 9, 5));
    check("the file holds what was written before munmap", memcmp(got, "AT-MUNMAP", 9) == 0);
    close(fd);
    end();
}
