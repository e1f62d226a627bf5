/* labs/pgtbl: ukern_vmprint prints this process's page tables (the grader compares each
 * tree printed with its own walk of the tables at the moment of the call); a page touched
 * between the two calls must appear in the second tree only. */
#include "check.h"
#include "ukern.h"
#include <sys/mman.h>

#define PAGE ((char *)0x40000000)    /* PML4 0, PDPT 1, PD 0, PT 0: a branch of its own */

int main(void)
{
    begin("pgtbl_vmprint");
    check_eq("vmprint returns 0", 0, ukern_vmprint());
    char *p = mmap(PAGE, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    check("mmap at 0x40000000", p == PAGE);
    p[0] = 1;
    check_eq("vmprint after writing the page at 0x40000000", 0, ukern_vmprint());
    end();
}
