/* Anonymous private mmap: zero-filled on first touch, private, gone after munmap. */
#include "check.h"
#include <sys/mman.h>

int main(void)
{
    begin("mmap_anon");
    size_t len = 64 * 4096;
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check("mmap returned a mapping", p != MAP_FAILED);
    check_eq("mapping is page aligned", 0, (unsigned long)p % 4096);
    check_eq("fresh page reads zero", 0, p[5000]);
    for (size_t i = 0; i < len; i += 4096)
        p[i] = (unsigned char)(i / 4096);
    check_eq("page 63 holds what was written", 63, p[63 * 4096]);
    check_eq("munmap succeeds", 0, munmap(p, len));
    unsigned char *q = mmap(p, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    check("MAP_FIXED at the old address", q == p);
    check_eq("a new mapping there is zero again", 0, q[0]);
    check_eq("mprotect to read-only succeeds", 0, mprotect(q, 4096, PROT_READ));
    check_eq("still readable", 0, q[1]);
    end();
}
