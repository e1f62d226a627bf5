/* 2 MiB pages split where page granularity is needed: munmap, mprotect and madvise of a
 * few pages in the middle of one leave the rest of it with its contents, and the changed
 * pages fault as they should (SIGSEGV, seen in a child) or read as zeros. */
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

#define PAGE 4096L
#define BLOCK (2L << 20)

static char *fill_block(char *base, int k)
{
    char *b = base + k * BLOCK;
    for (long off = 0; off < BLOCK; off += PAGE)
        b[off] = (char)(off / PAGE + k);
    return b;
}

static long wrong_pages(char *b, int k, long skip_lo, long skip_hi)
{
    long bad = 0;
    for (long off = 0; off < BLOCK; off += PAGE)
        if (off < skip_lo || off >= skip_hi)
            bad += b[off] != (char)(off / PAGE + k);
    return bad;
}

/* The signal a child gets when it writes (or reads) at p. */
static int signal_of_touch(volatile char *p, int write)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (write)
            *p = 1;
        else
            (void)*p;
        _exit(0);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

int main(void)
{
    begin("huge_split");
    char *raw = mmap(0, 4 * BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check("mmap of 8 MiB", raw != MAP_FAILED);
    char *a = (char *)(((uintptr_t)raw + BLOCK - 1) & ~(BLOCK - 1));   /* 3 aligned blocks */

    char *b0 = fill_block(a, 0);
    check_eq("munmap of 3 pages in the middle of a 2 MiB page", 0, munmap(b0 + 100 * PAGE, 3 * PAGE));
    check_eq("pages of it still holding their contents", 0, wrong_pages(b0, 0, 100 * PAGE, 103 * PAGE));
    check_eq("reading an unmapped page: SIGSEGV", SIGSEGV, signal_of_touch(b0 + 101 * PAGE, 0));
    check_eq("the page after the hole is still writable", 0, signal_of_touch(b0 + 103 * PAGE, 1));

    char *b1 = fill_block(a, 1);
    check_eq("mprotect one page of a 2 MiB page read-only", 0, mprotect(b1 + 200 * PAGE, PAGE, PROT_READ));
    check_eq("writing it: SIGSEGV", SIGSEGV, signal_of_touch(b1 + 200 * PAGE, 1));
    check_eq("reading it keeps its byte", (char)(200 + 1), b1[200 * PAGE]);
    b1[201 * PAGE] = 7;
    check_eq("its neighbour stays writable", 7, b1[201 * PAGE]);
    b1[201 * PAGE] = (char)(201 + 1);
    check_eq("pages holding their contents", 0, wrong_pages(b1, 1, 0, 0));

    char *b2 = fill_block(a, 2);
    check_eq("madvise(DONTNEED) of 5 pages of a 2 MiB page", 0, madvise(b2 + 7 * PAGE, 5 * PAGE, MADV_DONTNEED));
    long zeros = 0;
    for (long i = 7; i < 12; i++)
        zeros += b2[i * PAGE] == 0;
    check_eq("those pages read as zeros", 5, zeros);
    check_eq("the rest holds its contents", 0, wrong_pages(b2, 2, 7 * PAGE, 12 * PAGE));

    check_eq("munmap of all", 0, munmap(raw, 4 * BLOCK));
    end();
}
