/* fork of a process with 2 MiB pages: each side's writes are its own (copy-on-write, page
 * by page after the split), and both still see what was there before the fork. */
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

#define PAGE 4096L
#define BLOCK (2L << 20)
#define BLOCKS 4

int main(void)
{
    begin("huge_fork");
    char *raw = mmap(0, (BLOCKS + 1) * BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check("mmap of 10 MiB", raw != MAP_FAILED);
    char *a = (char *)(((uintptr_t)raw + BLOCK - 1) & ~(BLOCK - 1));
    for (long off = 0; off < BLOCKS * BLOCK; off += PAGE)
        a[off] = 'p';
    int pipefd[2];
    check_eq("pipe", 0, pipe(pipefd));
    pid_t pid = fork();
    if (pid == 0) {
        long seen = 0;
        for (long off = 0; off < BLOCKS * BLOCK; off += PAGE)
            seen += a[off] == 'p';
        for (long off = 0; off < BLOCKS * BLOCK; off += 2 * PAGE)
            a[off] = 'c';                    /* every other page: the child's own copies */
        char go;
        read(pipefd[0], &go, 1);             /* the parent has written its pages */
        long mine = 0;
        for (long off = 0; off < BLOCKS * BLOCK; off += PAGE)
            mine += a[off] == ((off / PAGE) % 2 ? 'p' : 'c');
        _exit(seen == BLOCKS * BLOCK / PAGE && mine == BLOCKS * BLOCK / PAGE ? 0 : 1);
    }
    for (long off = PAGE; off < BLOCKS * BLOCK; off += 2 * PAGE)
        a[off] = 'P';                        /* the other pages, in the parent */
    write(pipefd[1], "g", 1);
    int status;
    waitpid(pid, &status, 0);
    check_eq("the child saw the data before the fork, then only its own writes", 0, WEXITSTATUS(status));
    long mine = 0;
    for (long off = 0; off < BLOCKS * BLOCK; off += PAGE)
        mine += a[off] == ((off / PAGE) % 2 ? 'P' : 'p');
    check_eq("the parent's pages: its own writes, none of the child's", BLOCKS * BLOCK / PAGE, mine);
    end();
}
