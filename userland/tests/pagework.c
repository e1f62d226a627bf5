/* A paging workload for the replacement-policy benchmark:
 *   pagework hotscan|loop|random MIB PASSES
 * hotscan: a hot fifth of the pages is touched between every few pages of a scan through
 *          the rest; loop: every page in order, again and again; random: pages at random
 *          (a fixed seed).  Each touch writes one word of the page. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 4096

static unsigned long state = 12345;
static unsigned long next_random(void) { state = state * 6364136223846793005ul + 1442695040888963407ul; return state >> 33; }

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: pagework hotscan|loop|random MIB PASSES\n");
        return 2;
    }
    long pages = atol(argv[2]) * 256, passes = atol(argv[3]);
    volatile unsigned char *mem = malloc(pages * PAGE);
    long hot = pages / 5, touches = 0;
    for (long pass = 0; pass < passes; pass++)
        for (long i = 0; i < pages; i++) {
            long page;
            if (!strcmp(argv[1], "loop"))
                page = i;
            else if (!strcmp(argv[1], "random"))
                page = next_random() % pages;
            else
                page = (i % 4 == 0) ? (i / 4) % hot : hot + i % (pages - hot);
            mem[page * PAGE] += 1;
            touches++;
        }
    printf("%s: %ld touches over %ld pages\n", argv[1], touches, pages);
    return 0;
}
