/* pagetouch N [random]: map N fresh anonymous pages and write one byte to each, in order
 * (or in a scrambled order), then print how many pages it touched.  Each first touch is a
 * demand-zero page fault unless the kernel maps ahead of the access: a fault-heavy
 * workload for the benchmarks, and a way for a student to watch fault-around work. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PAGE 4096UL

static unsigned long gcd(unsigned long a, unsigned long b)
{
    while (b) {
        unsigned long t = a % b;
        a = b;
        b = t;
    }
    return a;
}

int main(int argc, char **argv)
{
    unsigned long n = argc > 1 ? strtoul(argv[1], 0, 0) : 10000;
    int scrambled = argc > 2 && strcmp(argv[2], "random") == 0;
    unsigned char *area = mmap(0, n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) {
        perror("pagetouch: mmap");
        return 1;
    }
    /* A step co-prime with n visits every page once, each far from the one before. */
    unsigned long step = 1;
    if (scrambled)
        for (step = 40503; gcd(step, n) != 1; step += 2)
            ;
    unsigned long sum = 0, i, page = 0;
    for (i = 0; i < n; i++) {
        area[page * PAGE] = 1;
        page = (page + step) % n;
    }
    for (i = 0; i < n; i++)
        sum += area[i * PAGE];
    printf("pagetouch: %lu pages touched\n", sum);
    return sum == n ? 0 : 1;
}
