/* Changed initialised data survives being swapped out, read back in and evicted again:
 * once it has come back from swap, a page of .data differs from the program image, so
 * reclaim must write it to swap again, never drop it as a clean page of the file (the
 * next touch would read the image's values back).
 *     data_swap MIB    sweeps MIB of heap (more than RAM) between the reads */
#include "check.h"
#include <stdint.h>

#define TABLE_WORDS (8 * 512)                   /* 8 pages */
#define ROUNDS 3

static uint64_t table[TABLE_WORDS] = {1};       /* .data: backed by the program image */

static long changed(void)
{
    long bad = 0;
    for (size_t i = 0; i < TABLE_WORDS; i++)
        bad += table[i] != (i ^ 0x5EED);
    return bad;
}

int main(int argc, char **argv)
{
    begin("data_swap");
    size_t size = (size_t)(argc > 1 ? atol(argv[1]) : 32) << 20;
    volatile char *heap = malloc(size);
    for (size_t i = 0; i < TABLE_WORDS; i++)
        table[i] = i ^ 0x5EED;
    long bad = 0;
    for (int round = 0; round < ROUNDS; round++) {
        for (size_t off = 0; off < size; off += 4096)   /* push the table out to swap */
            heap[off] = (char)round;
        bad += changed();                               /* read it back in: no write */
    }
    check_eq("table words that differ from what was written, over the rounds", 0, bad);
    end();
}
