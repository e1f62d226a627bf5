/* A first touch in a large anonymous mapping maps the whole aligned 2 MiB block around
 * it (as transparent huge pages do), with 4 KiB entries: scattered touches over 4 blocks
 * take 4 faults, the rest of each block is there already, and the pages still behave one
 * by one (mprotect of one page, copy-on-write after fork). */
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

#define PAGE 4096L
#define BLOCK (2L << 20)

static long minor_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

int main(void)
{
    begin("large_block");
    char *raw = mmap(0, 5 * BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check("mmap of 10 MiB", raw != MAP_FAILED);
    char *a = (char *)(((unsigned long)raw + BLOCK - 1) & ~(BLOCK - 1));   /* 4 aligned blocks */
    long before = minor_faults();
    for (int k = 0; k < 4; k++)
        a[k * BLOCK + (37 + 101 * k) * PAGE + 5] = 1;            /* one scattered touch each */
    long first = minor_faults() - before;
    check("4 scattered first touches take at most 4 faults", first <= 4);
    before = minor_faults();
    long sum = 0;
    for (long off = 0; off < 4 * BLOCK; off += PAGE) {
        a[off] = 2;
        sum += a[off];
    }
    check_eq("touching every other page of the 4 blocks takes no fault", 0, minor_faults() - before);
    check_eq("every page written", 2 * 4 * BLOCK / PAGE, sum);
    check_eq("mprotect of one page in a block", 0, mprotect(a + 9 * PAGE, PAGE, PROT_READ));
    a[10 * PAGE] = 3;
    check_eq("its neighbour stays writable", 3, a[10 * PAGE]);
    pid_t pid = fork();
    if (pid == 0) {
        a[BLOCK + 7 * PAGE] = 9;                 /* copy-on-write: the parent keeps 2 */
        _exit(a[BLOCK + 7 * PAGE] == 9 ? 0 : 1);
    }
    int status;
    waitpid(pid, &status, 0);
    check_eq("the child wrote its own copy", 0, WEXITSTATUS(status));
    check_eq("the parent's page is unchanged", 2, a[BLOCK + 7 * PAGE]);
    check_eq("munmap", 0, munmap(raw, 5 * BLOCK));
    end();
}
