/* objput N TEXT: put TEXT into the page object filed in slot N of the root node (made on
 * first use).  It stays there across shutdowns; objcat N prints it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ukern.h>

#define PAGE_AT ((void *)0x600000000000)

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: objput SLOT TEXT\n");
        return 2;
    }
    long index = atol(argv[1]);
    long slot = ukern_cap_call(UKERN_ROOT_SLOT, UKERN_NODE_GET, index, 0);
    if (slot < 0) {
        slot = ukern_cap_call(UKERN_BANK_SLOT, UKERN_ALLOC_PAGE, 0, 0);
        if (slot < 0 || ukern_cap_call(UKERN_ROOT_SLOT, UKERN_NODE_SET, index, slot) < 0) {
            perror("objput");
            return 1;
        }
    }
    if (ukern_cap_map(slot, PAGE_AT, PROT_READ | PROT_WRITE) < 0) {
        perror("objput: map");
        return 1;
    }
    strncpy(PAGE_AT, argv[2], 4095);
    return ukern_objsync() < 0;
}
