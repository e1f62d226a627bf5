/* For the object-store test programs: n fresh page objects from the space bank, mapped
 * one after another from `base`, read-write (a mapping keeps its capability, so the slot
 * is dropped at once). */
#ifndef OBJMAP_H
#define OBJMAP_H

#include "check.h"
#include <sys/mman.h>
#include <ukern.h>

static void map_fresh_objects(unsigned long base, long n)
{
    for (long i = 0; i < n; i++) {
        long slot = ukern_cap_call(UKERN_BANK_SLOT, UKERN_ALLOC_PAGE, 0, 0);
        if (slot < 0 || ukern_cap_map(slot, (void *)(base + i * 4096), PROT_READ | PROT_WRITE) < 0)
            fail("object %ld: cannot allocate and map", i);
        ukern_cap_drop(slot);
    }
}

#endif
