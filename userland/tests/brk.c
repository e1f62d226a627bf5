/* The program break grows and shrinks; new heap pages read zero.  (musl's sbrk only
 * reports the break, so this calls brk directly.) */
#include "check.h"
#include <unistd.h>
#include <sys/syscall.h>

static char *brk_to(char *addr) { return (char *)syscall(SYS_brk, addr); }

int main(void)
{
    begin("brk");
    char *start = brk_to(0);
    check("brk(0) gives the current break", start != NULL);
    volatile char *heap = start;
    check("brk grows by 1 MiB", brk_to(start + (1 << 20)) == start + (1 << 20));
    check_eq("new heap reads zero", 0, heap[(1 << 20) - 1]);
    heap[(1 << 20) - 1] = 'z';
    check_eq("last heap byte holds what was written", 'z', heap[(1 << 20) - 1]);
    check("brk shrinks back", brk_to(start) == start);
    check("brk(0) agrees", brk_to(0) == start);
    check("brk below the start is refused", brk_to(start - 4096) == start);
    end();
}
