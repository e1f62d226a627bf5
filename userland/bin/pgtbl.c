/* pgtbl: print this process's page tables as a tree (ukern_vmprint, labs/pgtbl).
 *
 *   pgtbl          the tables as they are at start
 *   pgtbl PAGES    after touching PAGES pages of a fresh mmap (watch a PT fill up)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "ukern.h"

int main(int argc, char **argv)
{
    long pages = argc > 1 ? atol(argv[1]) : 0;
    if (pages > 0) {
        char *buf = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (buf == MAP_FAILED) {
            fprintf(stderr, "pgtbl: mmap: %s\n", strerror(errno));
            return 1;
        }
        for (long i = 0; i < pages; i++)
            buf[i * 4096] = 1;
        printf("pgtbl: touched %ld pages at %p\n", pages, (void *)buf);
        fflush(stdout);
    }
    if (ukern_vmprint() < 0) {
        fprintf(stderr, "pgtbl: vmprint: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}
