/* Two copies run at once, preempted often: each fills the same virtual page with its own
 * pid and checks that it never sees the other's value. */
#include "check.h"
#include <unistd.h>

static volatile int page[1024] __attribute__((aligned(4096)));

int main(void)
{
    begin("isolation");
    int me = getpid();
    long seen_other = 0;
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 1024; i++)
            page[i] = me;
        for (int spin = 0; spin < 2000; spin++)
            if (page[spin % 1024] != me)
                seen_other++;
    }
    check_eq("words of my page that held another process's value", 0, seen_other);
    end();
}
