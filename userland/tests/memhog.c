/* Touches more memory than the machine has: writes a pattern over N MiB (default 48),
 * then reads it all back.  With swap, every byte must come back right. */
#include "check.h"
#include <stdint.h>

int main(int argc, char **argv)
{
    long mib = argc > 1 ? atol(argv[1]) : 48;
    begin("memhog");
    size_t size = (size_t)mib << 20;
    volatile uint64_t *p = malloc(size);
    check("malloc", p != NULL);
    size_t words = size / 8;
    for (size_t i = 0; i < words; i += 512)          /* one word per page, and a neighbour */
        p[i] = i * 2654435761u, p[i + 1] = ~i;
    msg("wrote %ld MiB", mib);
    long bad = 0;
    for (size_t i = 0; i < words; i += 512)
        bad += p[i] != i * 2654435761u || p[i + 1] != ~i;
    check_eq("words that came back wrong", 0, bad);
    end();
}
