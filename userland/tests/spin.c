/* Computes without system calls for a while, then reports: used to show preemption. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    volatile unsigned long x = 0;
    for (long i = 0; i < n; i++)
        x += i;
    printf("spin %d done\n", getpid());
    return 0;
}
