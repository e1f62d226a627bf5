/* fork copies the address space, copy-on-write: the parent and 3 children write the same
 * pages of a 256 KiB global array; each sees only its own writes, and the parent's data
 * is intact after the children have exited. */
#include "check.h"
#include <sched.h>
#include <unistd.h>
#include <sys/wait.h>

#define SIZE (256 * 1024)
#define CHILDREN 3

static volatile unsigned char data[SIZE];

/* Fill the array with one value, yield so the others run, and check it still holds it.
 * Returns how many bytes held something else. */
static long write_and_check(unsigned char value)
{
    long wrong = 0;
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < SIZE; i++)
            data[i] = value;
        sched_yield();
        for (int i = 0; i < SIZE; i++)
            wrong += data[i] != value;
    }
    return wrong;
}

int main(void)
{
    begin("fork_cow");
    for (int i = 0; i < SIZE; i++)              /* before fork: each page holds its number */
        data[i] = (unsigned char)(i / 4096);
    pid_t pids[CHILDREN];
    for (int c = 0; c < CHILDREN; c++) {
        pids[c] = fork();
        if (pids[c] < 0)
            fail("fork %d failed", c);
        if (pids[c] == 0) {
            /* Child: it starts with the parent's data (exit 2 if not) ... */
            for (int i = 0; i < SIZE; i++)
                if (data[i] != (unsigned char)(i / 4096))
                    _exit(2);
            /* ... and its own writes are the only ones it ever sees (exit 3 if not). */
            _exit(write_and_check((unsigned char)(0x10 + c)) ? 3 : 0);
        }
    }
    check_eq("bytes of the parent's array changed under it", 0, write_and_check(0xAA));
    for (int c = 0; c < CHILDREN; c++) {
        int st;
        check("waitpid returns the child", waitpid(pids[c], &st, 0) == pids[c]);
        check_eq("child saw the parent's data, then only its own writes (exit 0)", 0,
                 WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st));
    }
    long wrong = 0;
    for (int i = 0; i < SIZE; i++)
        wrong += data[i] != 0xAA;
    check_eq("bytes of the parent's array changed after the children exited", 0, wrong);
    end();
}
