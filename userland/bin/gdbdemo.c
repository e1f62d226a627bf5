/* A program to debug with gdb under ukern (`make gdb`): break main, next, step into
 * square(), print variables, continue to the exit. */
#include <stdio.h>

__attribute__((noinline)) static int square(int x)
{
    return x * x;
}

int main(void)
{
    volatile int total = 0;
    for (int i = 1; i <= 3; i++)
        total += square(i);
    printf("gdbdemo: total = %d\n", total);
    return total == 14 ? 0 : 1;
}
