/* The two-process compute benchmark (bench/run.py): the CRC-32 work of userland/asm/bench_crc.S
 * (the same loop, in the same machine code) split over C forked children, which run at once;
 * the parent waits for them.  With one child only one process is runnable; with two, the
 * kernel must bound their slices.  Each child exits with the low bits of its CRC.
 *   crc_fork CHILDREN ROUNDS      (ROUNDS of 64 KiB in all, shared out evenly) */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned char buf[65536] __attribute__((aligned(4096)));

/* bench_crc.S's loop: bitwise CRC-32 over the buffer, `rounds` times. */
static unsigned crc_rounds(int rounds)
{
    unsigned crc = 0xffffffff;
    if (rounds <= 0)
        return crc;
    __asm__ volatile(
        "   mov %[rounds], %%r9d\n"
        "1: lea %[buf], %%rsi\n"
        "   mov $65536, %%ecx\n"
        "2: movzbl (%%rsi), %%edx\n"
        "   xor %%edx, %[crc]\n"
        "   mov $8, %%r8d\n"
        "3: mov %[crc], %%edx\n"
        "   shr $1, %[crc]\n"
        "   and $1, %%edx\n"
        "   neg %%edx\n"
        "   and $0xedb88320, %%edx\n"
        "   xor %%edx, %[crc]\n"
        "   dec %%r8d\n"
        "   jnz 3b\n"
        "   inc %%rsi\n"
        "   dec %%ecx\n"
        "   jnz 2b\n"
        "   dec %%r9d\n"
        "   jnz 1b\n"
        : [crc] "+a"(crc)
        : [rounds] "r"(rounds), [buf] "m"(buf)
        : "rcx", "rdx", "rsi", "r8", "r9", "cc", "memory");
    return crc;
}

int main(int argc, char **argv)
{
    int children = argc > 1 ? atoi(argv[1]) : 2;
    int rounds = argc > 2 ? atoi(argv[2]) : 64;
    for (int c = 0; c < children; c++) {
        if (fork() == 0)
            _exit(crc_rounds(rounds / children) & 0x7f);
    }
    while (wait(NULL) > 0)
        ;
    return 0;
}
