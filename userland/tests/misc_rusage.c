/* getrusage counts this process's page faults and time; RUSAGE_CHILDREN the reaped
 * children's; times() the same in clock ticks. */
#include "check.h"
#include <errno.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <unistd.h>

#define PG 4096

int main(void)
{
    begin("misc_rusage");
    struct rusage a, b, c;
    check_eq("getrusage(SELF)", 0, getrusage(RUSAGE_SELF, &a));
    volatile char *m = malloc(300 * PG);
    /* touched top down: fault-around follows upward streams only, so each page faults */
    for (int i = 299; i >= 0; i--)
        m[i * PG] = 1;
    check_eq("getrusage after touching 300 pages", 0, getrusage(RUSAGE_SELF, &b));
    check("minflt went up by at least 300", b.ru_minflt >= a.ru_minflt + 300);
    check("and not wildly more", b.ru_minflt <= a.ru_minflt + 340);
    check("maxrss is at least 1200 kB", b.ru_maxrss >= 1200);
    check("system time counted", b.ru_stime.tv_sec > 0 || b.ru_stime.tv_usec > 0);

    pid_t pid = fork();
    if (pid == 0) {
        volatile char *n = malloc(100 * PG);
        for (int i = 99; i >= 0; i--)
            n[i * PG] = 1;
        volatile unsigned long x = 0;
        for (unsigned long i = 0; i < 20000000; i++)
            x += i;
        _exit(0);
    }
    check_eq("getrusage(CHILDREN) before the wait", 0, getrusage(RUSAGE_CHILDREN, &c));
    check_eq("no child reaped yet: no faults", 0, c.ru_minflt);
    /* compute alongside: with two runnable processes the clock counts instructions
     * (a lone process's compute does not move the virtual clock); sched_yield ends this
     * slice, so that the next ones are counted */
    sched_yield();
    volatile unsigned long y = 0;
    for (unsigned long i = 0; i < 20000000; i++)
        y += i;
    waitpid(pid, NULL, 0);
    check_eq("getrusage(CHILDREN) after", 0, getrusage(RUSAGE_CHILDREN, &c));
    check("the child's 100 faults are counted", c.ru_minflt >= 100);
    check("the child's user time is counted", c.ru_utime.tv_sec > 0 || c.ru_utime.tv_usec > 0);

    struct tms t;
    clock_t now = times(&t);
    check("times returns the ticks since boot", now >= 0);
    check("children's user ticks", t.tms_cutime == c.ru_utime.tv_sec * 100 + c.ru_utime.tv_usec / 10000);
    errno = 0;
    check_eq("getrusage(5) fails", -1, getrusage(5, &c));
    check_eq("... EINVAL", EINVAL, errno);
    end();
}
