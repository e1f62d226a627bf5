/* 2 MiB pages under memory pressure: a mapping larger than RAM starts with 2 MiB pages
 * while memory is plentiful; reclaim splits them and swaps their pages out, and every
 * page reads back intact. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "check.h"

#define PAGE 4096L
#define BLOCK (2L << 20)

int main(int argc, char **argv)
{
    begin("huge_swap");
    long size = (argc > 1 ? atol(argv[1]) : 40) << 20;
    char *raw = mmap(0, size + BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check("mmap", raw != MAP_FAILED);
    volatile uint64_t *a = (uint64_t *)(((uintptr_t)raw + BLOCK - 1) & ~(BLOCK - 1));
    for (int pass = 0; pass < 2; pass++)
        for (long off = 0; off < size; off += PAGE)
            a[off / 8] = (off * 2654435761u) ^ 0x1234;
    long bad = 0;
    for (long off = 0; off < size; off += PAGE)
        bad += a[off / 8] != (uint64_t)((off * 2654435761u) ^ 0x1234) || a[off / 8 + 7] != 0;
    check_eq("pages with a wrong word after swapping", 0, bad);
    end();
}
