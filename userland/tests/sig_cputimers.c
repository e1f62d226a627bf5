/* ITIMER_VIRTUAL and ITIMER_PROF count the process's CPU time: a loop that computes gets
 * SIGVTALRM and SIGPROF at their intervals, a process that sleeps does not, getitimer
 * shows the CPU time left going down, and a one-shot timer disarms itself. */
#include "check.h"
#include <signal.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile int vt, prof;
static void on_vtalrm(int s) { vt++; }
static void on_prof(int s) { prof++; }

static void arm(int which, long value_us, long interval_us)
{
    struct itimerval it = {{interval_us / 1000000, interval_us % 1000000},
                           {value_us / 1000000, value_us % 1000000}};
    setitimer(which, &it, NULL);
}

static volatile unsigned long sink;
static void spin(long n)
{
    for (long i = 0; i < n; i++)
        sink += i * i;
}

int main(void)
{
    begin("sig_cputimers");
    signal(SIGVTALRM, on_vtalrm);
    signal(SIGPROF, on_prof);

    arm(ITIMER_VIRTUAL, 2000, 2000);           /* every 2 ms of user time */
    struct itimerval now;
    getitimer(ITIMER_VIRTUAL, &now);
    check("getitimer: armed with a 2 ms interval", now.it_interval.tv_usec == 2000 &&
          now.it_value.tv_usec > 0 && now.it_value.tv_usec <= 2000);
    struct timespec ts = {0, 50 * 1000000};
    nanosleep(&ts, NULL);                      /* 50 ms asleep: no user time */
    check_eq("no SIGVTALRM while asleep", 0, vt);
    while (vt < 3)
        spin(1000);
    check_eq("SIGVTALRM three times while computing", 3, vt);
    arm(ITIMER_VIRTUAL, 0, 0);
    getitimer(ITIMER_VIRTUAL, &now);
    check_eq("disarmed", 0, now.it_value.tv_usec + now.it_value.tv_sec);

    arm(ITIMER_PROF, 1000, 0);                 /* once, after 1 ms of CPU time */
    while (prof < 1)
        getppid();                             /* system calls count too */
    check_eq("SIGPROF once", 1, prof);
    spin(3000000);
    check_eq("a one-shot timer fires once", 1, prof);
    getitimer(ITIMER_PROF, &now);
    check_eq("and is disarmed", 0, now.it_value.tv_usec + now.it_value.tv_sec);
    end();
}
