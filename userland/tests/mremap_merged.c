/* mremap across a mapping whose middle was made read-only and then writable again: Linux
 * keeps it one mapping (its vmas merge back), so the move must work and carry every page. */
#define _GNU_SOURCE
#include <sys/mman.h>
#include "check.h"

#define PAGE 4096L

int main(void)
{
    begin("mremap_merged");
    char *a = mmap(0, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check("mmap of 8 pages", a != MAP_FAILED);
    for (int i = 0; i < 8; i++)
        a[i * PAGE] = 'a' + i;
    check_eq("mprotect of the middle pages read-only", 0, mprotect(a + 2 * PAGE, 2 * PAGE, PROT_READ));
    check_eq("and writable again", 0, mprotect(a + 2 * PAGE, 2 * PAGE, PROT_READ | PROT_WRITE));
    char *b = mremap(a, 8 * PAGE, 16 * PAGE, MREMAP_MAYMOVE);
    check("mremap of all 8 pages, growing to 16", b != MAP_FAILED);
    int same = 0;
    for (int i = 0; i < 8; i++)
        same += b[i * PAGE] == 'a' + i;
    check_eq("pages that arrived with their bytes", 8, same);
    b[15 * PAGE] = 'z';
    check_eq("the grown part is writable", 'z', b[15 * PAGE]);
    end();
}
