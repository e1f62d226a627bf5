/* The first program a student runs: printf through musl, write(2), the ukern console. */
#include <stdio.h>

int main(void)
{
    printf("hello from ukern: a C program in ring 3 on an emulated x86-64\n");
    return 0;
}
