/* objcat N: print the text in the page object filed in slot N of the root node. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ukern.h>

#define PAGE_AT ((void *)0x600000000000)

int main(int argc, char **argv)
{
    long index = argc > 1 ? atol(argv[1]) : 0;
    long slot = ukern_cap_call(UKERN_ROOT_SLOT, UKERN_NODE_GET, index, 0);
    if (slot < 0 || ukern_cap_map(slot, PAGE_AT, PROT_READ) < 0) {
        fprintf(stderr, "objcat: nothing in slot %ld\n", index);
        return 1;
    }
    printf("%.4096s\n", (const char *)PAGE_AT);
    return 0;
}
