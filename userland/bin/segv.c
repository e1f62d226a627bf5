/* Writes through a bad pointer: the kernel kills it with SIGSEGV and a report naming the
 * address and the faulting instruction. */
#include <stdio.h>

int main(void)
{
    volatile int *p = (int *)0x10;
    printf("about to write to %p\n", (void *)p);
    fflush(stdout);
    *p = 1;
    printf("still alive?\n");
    return 0;
}
