/* 1000 times: fork, the child writes to a page it shares copy-on-write with the parent
 * and exits, the parent reaps it.  Afterwards exactly as many frames are free as before
 * (sysinfo's freeram counts frames): nothing a child held stays behind (issue 21). */
#include "check.h"
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 1000

static char shared_page[4096 * 4];

static long free_frames(void)
{
    struct sysinfo si;
    if (sysinfo(&si) != 0)
        fail("sysinfo failed");
    return (long)si.freeram;
}

static int cycle(int i)
{
    pid_t pid = fork();
    if (pid < 0)
        fail("fork number %d failed", i);
    if (pid == 0) {
        shared_page[(i * 97) % sizeof shared_page] = (char)i;   /* breaks copy-on-write */
        _exit(i & 0x7f);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != (i & 0x7f))
        fail("child %d: not reaped with its status", i);
    return 1;
}

int main(void)
{
    begin("books_fork");
    for (int i = 0; i < (int)sizeof shared_page; i += 4096)
        shared_page[i] = 1;                 /* the parent's pages are present first */
    cycle(0);                               /* warm up: page tables and stack in place */
    long before = free_frames();
    int done = 0;
    for (int i = 1; i <= ROUNDS; i++)
        done += cycle(i);
    check_eq("fork/exit cycles", ROUNDS, done);
    check_eq("free frames after the cycles, as before them", before, free_frames());
    end();
}
