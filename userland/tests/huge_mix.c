/* 2 MiB pages under a random mix of what splits them: writes, madvise(DONTNEED), mprotect,
 * munmap and a fresh mmap in its place, mremap that moves a stretch, and fork with
 * copy-on-write, all against a shadow of what every 4 KiB page should hold.
 * usage: huge_mix [SEED [STEPS]] */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "check.h"

#define PAGE 4096L
#define BLOCK (2L << 20)
#define BLOCKS 8
#define PAGES (BLOCKS * BLOCK / PAGE)

static char *area;                       /* 2 MiB-aligned, BLOCKS blocks */
static unsigned char expect[PAGES];      /* the byte every byte of the page holds (0: zeros) */
static uint64_t rng;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* The first page whose bytes are not what the shadow says, or -1. */
static long first_wrong(void)
{
    for (long i = 0; i < PAGES; i++) {
        const char *page = area + i * PAGE;
        if (page[0] != (char)expect[i] || page[PAGE / 2] != (char)expect[i] || page[PAGE - 1] != (char)expect[i])
            return i;
    }
    return -1;
}

static void fill(long first, long count, unsigned char value)
{
    for (long i = first; i < first + count; i++) {
        memset(area + i * PAGE, value, PAGE);
        expect[i] = value;
    }
}

static void forget(long first, long count)
{
    memset(expect + first, 0, count);
}

int main(int argc, char **argv)
{
    rng = argc > 1 ? strtoull(argv[1], 0, 10) * 2654435761u + 1 : 88172645463325252ull;
    long steps = argc > 2 ? atol(argv[2]) : 300;
    begin("huge_mix");
    char *raw = mmap(0, (BLOCKS + 1) * BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check("mmap of 18 MiB", raw != MAP_FAILED);
    area = (char *)(((uintptr_t)raw + BLOCK - 1) & ~(BLOCK - 1));
    long forks = 0, moves = 0;
    for (long step = 0; step < steps; step++) {
        long first = next() % PAGES;
        long count = 1 + next() % 64;
        if (first + count > PAGES)
            count = PAGES - first;
        switch (next() % 8) {
        case 0: case 1: case 2:          /* write: a whole block now and then, so 2 MiB pages come back */
            if (next() % 4 == 0) {
                first = first & ~(BLOCK / PAGE - 1);
                count = BLOCK / PAGE;
            }
            fill(first, count, 1 + next() % 255);
            break;
        case 3:
            if (madvise(area + first * PAGE, count * PAGE, MADV_DONTNEED) != 0)
                fail("madvise(DONTNEED) of pages %ld..%ld", first, first + count);
            forget(first, count);
            break;
        case 4:                          /* read-only for a while: the contents stay */
            if (mprotect(area + first * PAGE, count * PAGE, PROT_READ) != 0)
                fail("mprotect(READ) of pages %ld..%ld", first, first + count);
            if (first_wrong() >= 0)
                fail("a read-only stretch changed what page %ld holds", first_wrong());
            mprotect(area + first * PAGE, count * PAGE, PROT_READ | PROT_WRITE);
            break;
        case 5:                          /* gone, then a fresh zeroed mapping in its place */
            munmap(area + first * PAGE, count * PAGE);
            if (mmap(area + first * PAGE, count * PAGE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != area + first * PAGE)
                fail("mmap(MAP_FIXED) over pages %ld..%ld", first, first + count);
            forget(first, count);
            break;
        case 6: {                        /* move a stretch to another place in the area */
            long to = next() % (PAGES - count + 1);
            if (to < first + count && first < to + count)
                break;                   /* (mremap's ranges may not overlap) */
            if (mremap(area + first * PAGE, count * PAGE, count * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED,
                       area + to * PAGE) != area + to * PAGE)
                fail("mremap of pages %ld..%ld to %ld", first, first + count, to);
            memmove(expect + to, expect + first, count);
            if (mmap(area + first * PAGE, count * PAGE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != area + first * PAGE)
                fail("mmap(MAP_FIXED) where pages %ld..%ld were", first, first + count);
            forget(first, count);
            moves++;
            break;
        }
        case 7: {                        /* fork: the child checks, then scribbles on its copies */
            pid_t pid = fork();
            if (pid == 0) {
                long wrong = first_wrong();
                for (long i = first; i < first + count; i++)
                    memset(area + i * PAGE, 0x5A, PAGE);
                _exit(wrong < 0 ? 0 : 1);
            }
            int status;
            waitpid(pid, &status, 0);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail("step %ld: the child did not see the parent's pages", step);
            forks++;
            break;
        }
        }
        long wrong = first_wrong();
        if (wrong >= 0)
            fail("step %ld: page %ld: expected %d, got %d", step, wrong, expect[wrong],
                 (unsigned char)area[wrong * PAGE]);
    }
    check("every page held what the shadow says after every step", 1);
    check("some steps forked and some moved", forks > 0 && moves > 0);
    end();
}
