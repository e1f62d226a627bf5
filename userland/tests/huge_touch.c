/* 2 MiB pages: touching every page of a 64 MiB anonymous mapping takes one fault per
 * 2 MiB block (each block is one page-directory entry with the PS bit, which the host
 * test finds in the vmprint tree this program prints), and every byte reads back. */
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "check.h"
#include "ukern.h"

#define PAGE 4096L
#define BLOCK (2L << 20)
#define SIZE (64L << 20)

static long minor_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

int main(void)
{
    begin("huge_touch");
    char *raw = mmap(0, SIZE + BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check("mmap of 66 MiB", raw != MAP_FAILED);
    volatile uint64_t *a = (uint64_t *)(((uintptr_t)raw + BLOCK - 1) & ~(BLOCK - 1));
    long before = minor_faults();
    for (long off = 0; off < SIZE; off += PAGE)
        a[off / 8] = off ^ 0x5A5A;
    check_eq("faults for 16384 pages in 32 aligned 2 MiB blocks", SIZE / BLOCK, minor_faults() - before);
    long bad = 0;
    for (long off = 0; off < SIZE; off += PAGE)
        bad += a[off / 8] != (uint64_t)(off ^ 0x5A5A) || a[off / 8 + 1] != 0;
    check_eq("pages with a wrong word", 0, bad);
    printf("(huge_touch) aligned block at %p\n", (void *)a);
    syscall(SYS_ukern_vmprint);
    check_eq("munmap of the whole mapping", 0, munmap(raw, SIZE + BLOCK));
    end();
}
