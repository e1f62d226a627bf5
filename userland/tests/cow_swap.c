/* Copy-on-write under swapping: a parent fills 12 MiB, two children each check the
 * parent's data and overwrite it with their own, while the machine has too little memory
 * for all three copies; the parent's data must survive untouched. */
#include "check.h"
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE (12u << 20)
#define WORDS (SIZE / 8)

static long verify(volatile uint64_t *p, uint64_t seed)
{
    long bad = 0;
    for (size_t i = 0; i < WORDS; i += 512)
        bad += p[i] != (i ^ seed);
    return bad;
}

static void fill(volatile uint64_t *p, uint64_t seed)
{
    for (size_t i = 0; i < WORDS; i += 512)
        p[i] = i ^ seed;
}

int main(void)
{
    begin("cow_swap");
    volatile uint64_t *p = malloc(SIZE);
    fill(p, 0xAAAA);
    for (int c = 1; c <= 2; c++) {
        if (fork() == 0) {
            if (verify(p, 0xAAAA))
                _exit(10 + c);
            fill(p, 0xBB00 + c);
            _exit(verify(p, 0xBB00 + c) ? 20 + c : 0);
        }
    }
    int status, ok = 0;
    while (wait(&status) > 0)
        ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    check_eq("children that saw the parent's data and then their own", 2, ok);
    check_eq("parent's words changed by the children", 0, verify(p, 0xAAAA));
    end();
}
