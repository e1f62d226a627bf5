/* objcount: a counter that lives in a persistent page object.  The first run asks the
 * space bank for a page and files its capability in slot 0 of the root node; every run
 * (every boot) finds it there again, maps it, and adds one. */
#include <stdio.h>
#include <sys/mman.h>
#include <ukern.h>

#define COUNTER_PAGE ((void *)0x600000000000)

int main(void)
{
    long slot = ukern_cap_call(UKERN_ROOT_SLOT, UKERN_NODE_GET, 0, 0);
    if (slot < 0) {                                   /* the first boot: make the page */
        slot = ukern_cap_call(UKERN_BANK_SLOT, UKERN_ALLOC_PAGE, 0, 0);
        if (slot < 0 || ukern_cap_call(UKERN_ROOT_SLOT, UKERN_NODE_SET, 0, slot) < 0) {
            perror("objcount: cannot make the counter");
            return 1;
        }
    }
    if (ukern_cap_map(slot, COUNTER_PAGE, PROT_READ | PROT_WRITE) < 0) {
        perror("objcount: cannot map the counter");
        return 1;
    }
    volatile long *counter = COUNTER_PAGE;
    *counter += 1;
    printf("objcount: %ld\n", *counter);
    return ukern_objsync() < 0;
}
