/* A program to run backwards under gdb (README "Reproduce and rewind", tests/test_reverse.py):
 * a global counter that each call changes, one source line at a time. */
#include <stdio.h>

volatile int counter;          /* `watch counter` */

__attribute__((noinline)) static int bump(int by)
{
    int before = counter;
    counter = before + by;
    int after = counter;
    return after - before;
}

int main(void)
{
    int sum = 0;
    for (int i = 1; i <= 4; i++)
        sum += bump(i);
    printf("rewind: counter = %d, sum = %d\n", counter, sum);
    return 0;
}
