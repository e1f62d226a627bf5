/* objcrash: the workload of the object store's crash sweep (bench/objcrash.py).
 *
 * Root node slot 5 holds a counter page; slot 6 a node whose first GROUPS slots hold nodes
 * of 32 pages each.  The counter page's first word is round * PROGRESS + pages written in
 * that round, one store each time.  Every round writes the round number into every page in
 * order, updating the counter page after each, then asks for a checkpoint (ukern_objsync)
 * and prints "committed N" once it has committed.  So a snapshot of one instant with counter
 * word c * PROGRESS + k has exactly pages 0..k-1 at c and the rest at c - 1; a power cut may
 * lose rounds, but never one that printed "committed".  And the counter page is written
 * again and again while checkpoints that hold it are being written: copy-on-write. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ukern.h>

#define COUNTER_SLOT 5
#define DIRECTORY_SLOT 6
#define GROUPS 8
#define PER_GROUP 32
#define BASE 0x600000000000ul
#define PROGRESS 1000

/* The capability in slot `index` of the node in c-list slot `node`, made if void. */
static long get_or_make(long node, long index, long op)
{
    long slot = ukern_cap_call(node, UKERN_NODE_GET, index, 0);
    if (slot >= 0)
        return slot;
    slot = ukern_cap_call(UKERN_BANK_SLOT, op, 0, 0);
    if (slot < 0 || ukern_cap_call(node, UKERN_NODE_SET, index, slot) < 0) {
        fprintf(stderr, "objcrash: cannot make object %ld: %ld\n", index, slot);
        exit(1);
    }
    return slot;
}

static volatile long *map(long slot, long number)
{
    void *at = (void *)(BASE + number * 4096);
    if (ukern_cap_map(slot, at, PROT_READ | PROT_WRITE) < 0) {
        fprintf(stderr, "objcrash: cannot map object %ld\n", number);
        exit(1);
    }
    ukern_cap_drop(slot);                   /* the mapping keeps it */
    return at;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 2;
    static volatile long *page[GROUPS * PER_GROUP];
    volatile long *counter = map(get_or_make(UKERN_ROOT_SLOT, COUNTER_SLOT, UKERN_ALLOC_PAGE), 0);
    long directory = get_or_make(UKERN_ROOT_SLOT, DIRECTORY_SLOT, UKERN_ALLOC_NODE);
    for (long g = 0; g < GROUPS; g++) {
        long group = get_or_make(directory, g, UKERN_ALLOC_NODE);
        for (long i = 0; i < PER_GROUP; i++)
            page[g * PER_GROUP + i] = map(get_or_make(group, i, UKERN_ALLOC_PAGE), 1 + g * PER_GROUP + i);
        ukern_cap_drop(group);
    }
    printf("start %ld\n", *counter / PROGRESS);
    fflush(stdout);
    for (int r = 0; r < rounds; r++) {
        long value = *counter / PROGRESS + 1;
        *counter = value * PROGRESS;
        for (long i = 0; i < GROUPS * PER_GROUP; i++) {
            page[i][0] = value;
            *counter = value * PROGRESS + i + 1;
        }
        if (ukern_objsync() >= 0)
            printf("committed %ld\n", value);
        fflush(stdout);
    }
    return 0;
}
