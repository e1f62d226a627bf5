/* The out-of-memory killer ends children, and the parent that waits for them runs on with
 * its memory intact: a parent fills 12 MiB and a page of initialised data, and forks two
 * children that each overwrite all of it, more than RAM and swap hold together.  Children
 * are killed (SIGKILL) as the largest processes; the parent's pages, swapped out and back
 * in meanwhile, must still hold what it wrote, and its thread pointer (which errno goes
 * through) must still be there. */
#include "check.h"
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE (12u << 20)
#define WORDS (SIZE / 8)
#define DATA_WORDS 1024

static uint64_t data_page[DATA_WORDS] = {1};       /* .data: backed by the program image */

static long changed(volatile uint64_t *p, size_t words, size_t step, uint64_t seed)
{
    long bad = 0;
    for (size_t i = 0; i < words; i += step)
        bad += p[i] != (i ^ seed);
    return bad;
}

static void fill(volatile uint64_t *p, size_t words, size_t step, uint64_t seed)
{
    for (size_t i = 0; i < words; i += step)
        p[i] = i ^ seed;
}

int main(void)
{
    begin("oom_children");
    volatile uint64_t *heap = malloc(SIZE);
    fill(heap, WORDS, 512, 0xAAAA);
    fill(data_page, DATA_WORDS, 1, 0xDDDD);
    for (int c = 1; c <= 2; c++) {
        if (fork() == 0) {
            fill(heap, WORDS, 512, 0xBB00 + c);
            fill(data_page, DATA_WORDS, 1, 0xBB00 + c);
            _exit(0);
        }
    }
    int status, ended = 0, killed = 0;
    while (wait(&status) > 0) {
        ended++;
        killed += WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    }
    check_eq("children that ended", 2, ended);
    msg("children killed for memory: %d", killed);
    check_eq("errno after wait() ran out of children", ECHILD, errno);
    check_eq("parent's heap words changed", 0, changed(heap, WORDS, 512, 0xAAAA));
    check_eq("parent's initialised-data words changed", 0, changed(data_page, DATA_WORDS, 1, 0xDDDD));
    end();
}
