/* musl's realloc of a large block is an mremap: 1 MiB grown to 8 MiB keeps its bytes. */
#include "check.h"
#include <stdint.h>

int main(void)
{
    begin("misc_realloc");
    size_t small = 1 << 20, big = 8 << 20;
    uint32_t *a = malloc(small);
    check("malloc 1 MiB", a != NULL);
    for (size_t i = 0; i < small / 4; i++)
        a[i] = (uint32_t)(i * 2654435761u);
    uint32_t *b = realloc(a, big);
    check("realloc to 8 MiB", b != NULL);
    size_t bad = 0;
    for (size_t i = 0; i < small / 4; i++)
        bad += b[i] != (uint32_t)(i * 2654435761u);
    check_eq("words changed by the move", 0, bad);
    b[big / 4 - 1] = 7;
    check_eq("the far end is usable", 7, b[big / 4 - 1]);
    uint32_t *c = realloc(b, small / 2);
    check("realloc down to 512 KiB", c != NULL);
    check("first words still there", c[1] == 2654435761u && c[1000] == (uint32_t)(1000 * 2654435761u));
    free(c);
    end();
}
