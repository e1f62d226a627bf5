/* Lab sched: with a fair-share scheduler, CPU time follows nice.  Three children spin at
 * nice 0, 5 and 10 for 300 ms of virtual time; each nice level is a weight 1.25 times
 * smaller, so their shares should be about 1024 : 336 : 110 (71%, 23%, 8%), each a bit
 * over three times the next.  Round robin gives each a third.  The parent kills them and
 * reads their CPU time from wait4's rusage; virtual time makes the numbers the same on
 * every run. */
#include "check.h"
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

#define CHILDREN 3

static const int nices[CHILDREN] = {0, 5, 10};

int main(void)
{
    begin("sched_nice");
    pid_t pids[CHILDREN];
    for (int i = 0; i < CHILDREN; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            setpriority(PRIO_PROCESS, 0, nices[i]);
            for (volatile unsigned long n = 0;; n++)
                ;
        }
    }
    struct timespec t = {0, 300 * 1000 * 1000};
    nanosleep(&t, NULL);
    long us[CHILDREN], total = 0;
    for (int i = 0; i < CHILDREN; i++) {
        kill(pids[i], SIGKILL);
        struct rusage ru;
        int status;
        check("wait4 a spinner", wait4(pids[i], &status, 0, &ru) == pids[i]);
        us[i] = ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec;
        total += us[i];
    }
    for (int i = 0; i < CHILDREN; i++)
        msg("nice %d: %ld us of CPU, %ld per mille", nices[i], us[i], us[i] * 1000 / total);
    check("the three used most of the 300 ms", total > 250000);
    long r1 = us[0] * 100 / (us[1] ? us[1] : 1), r2 = us[1] * 100 / (us[2] ? us[2] : 1);
    msg("nice 0 / nice 5: %ld.%02ld, nice 5 / nice 10: %ld.%02ld (fair share by weight: 3.05)",
        r1 / 100, r1 % 100, r2 / 100, r2 % 100);
    check("nice 0 gets 2.6 to 3.6 times the CPU of nice 5", r1 >= 260 && r1 <= 360);
    check("nice 5 gets 2.6 to 3.6 times the CPU of nice 10", r2 >= 260 && r2 <= 360);
    end();
}
