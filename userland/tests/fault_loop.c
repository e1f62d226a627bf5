/* The fault-heavy benchmark (bench/run.py, fault_loop rows): map N fresh anonymous pages
 * and write one byte to each, in address order (as a program initialising a big array
 * does) or in a shuffled order ("random").  Prints the page faults it took (minflt).
 *   fault_loop N [seq|random|malloc]     */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#define PG 4096

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    const char *mode = argc > 2 ? argv[2] : "seq";
    unsigned char *p;
    if (strcmp(mode, "malloc") == 0)
        p = malloc(n * PG);
    else
        p = mmap(NULL, n * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == NULL || p == MAP_FAILED) {
        printf("fault_loop: cannot map %ld pages\n", n);
        return 1;
    }
    struct rusage a, b;
    getrusage(RUSAGE_SELF, &a);
    if (strcmp(mode, "random") == 0) {
        /* a full-period LCG over the page numbers: every page once, in scattered order */
        unsigned long m = 1;
        while (m < (unsigned long)n)
            m <<= 1;
        unsigned long x = 0;
        for (unsigned long i = 0; i < m; i++) {
            x = (x * 5 + 3) & (m - 1);
            if (x < (unsigned long)n)
                p[x * PG] = 1;
        }
    } else {
        for (long i = 0; i < n; i++)
            p[i * PG] = 1;
    }
    getrusage(RUSAGE_SELF, &b);
    long sum = 0;
    for (long i = 0; i < n; i++)
        sum += p[i * PG];
    printf("fault_loop: %ld pages %s, %ld faults, sum %ld\n", n, mode, b.ru_minflt - a.ru_minflt, sum);
    return sum == n ? 0 : 1;
}
