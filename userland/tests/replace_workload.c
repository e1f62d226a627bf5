/* labs/replacement: a guest workload for the replacement policies -- a small hot set used
 * all the time while a longer scan runs through other pages, a few times over.  The grader
 * samples the Accessed bits of its page table as a reclaim scanner would (labs/replacement)
 * and feeds the pages seen to the policies. */
#include "check.h"

#define PAGE 4096
#define HOT 8
#define SCAN 96
#define PASSES 3

static volatile unsigned char mem[(HOT + SCAN) * PAGE];

static unsigned touch(int page)
{
    unsigned sum = 0;
    for (int i = 0; i < 256; i++)
        sum += mem[page * PAGE + i * 16];
    mem[page * PAGE] = (unsigned char)sum;
    return sum;
}

int main(void)
{
    begin("replace_workload");
    unsigned sum = 0;
    for (int pass = 0; pass < PASSES; pass++)
        for (int i = 0; i < SCAN; i++) {
            sum += touch(HOT + i);
            for (int j = 0; j < 3; j++)
                sum += touch((i * 5 + j * 3 + pass) % HOT);
        }
    msg("touched %d pages %d times", HOT + SCAN, PASSES);
    (void)sum;
    end();
}
