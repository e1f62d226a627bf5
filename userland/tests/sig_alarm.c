/* alarm and setitimer(ITIMER_REAL) on the virtual clock: SIGALRM comes at the time asked
 * for, an interval re-arms the timer, alarm returns the seconds left, getitimer shows the
 * time left; fork clears the timers in the child, execve keeps them; ITIMER_VIRTUAL reads
 * back armed with at most its CPU time left (sig_cputimers tests it firing); a bad `which`
 * or timeval is EINVAL. */
#include "check.h"
#include <errno.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile long long fired_at[8];
static volatile int fired;

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void on_alarm(int sig)
{
    if (fired < 8)
        fired_at[fired] = now_ns();
    fired++;
}

static int at(long long t, long long expected) { return t >= expected && t < expected + 200000; }

int main(int argc, char **argv)
{
    begin("sig_alarm");
    struct itimerval it;
    if (argc > 1) {
        getitimer(ITIMER_REAL, &it);
        check("after execve the timer is still armed", it.it_value.tv_sec == 9 || it.it_value.tv_sec == 10);
        end();
    }
    signal(SIGALRM, on_alarm);

    long long t0 = now_ns();
    check_eq("alarm(1): nothing armed before", 0, alarm(1));
    pause();
    check_eq("SIGALRM came", 1, fired);
    check("after 1 s of virtual time", at(fired_at[0] - t0, 1000000000));

    check_eq("alarm(5)", 0, alarm(5));
    check_eq("alarm(2) returns the 5 s left", 5, alarm(2));
    check_eq("alarm(0) returns the 2 s left and cancels", 2, alarm(0));

    fired = 0;
    struct itimerval every = {{0, 50000}, {0, 100000}};     /* 100 ms, then every 50 ms */
    t0 = now_ns();
    check_eq("setitimer(100 ms, every 50 ms)", 0, setitimer(ITIMER_REAL, &every, NULL));
    while (fired < 3)
        pause();
    check("first at 100 ms", at(fired_at[0] - t0, 100000000));
    check("second at 150 ms", at(fired_at[1] - t0, 150000000));
    check("third at 200 ms", at(fired_at[2] - t0, 200000000));
    getitimer(ITIMER_REAL, &it);
    check("getitimer: interval 50 ms", it.it_interval.tv_sec == 0 && it.it_interval.tv_usec == 50000);
    check("getitimer: at most 50 ms left", it.it_value.tv_sec == 0 && it.it_value.tv_usec > 0 && it.it_value.tv_usec <= 50000);
    struct itimerval off = {{0, 0}, {0, 0}}, old;
    check_eq("disarm", 0, setitimer(ITIMER_REAL, &off, &old));
    check("the old value had the interval", old.it_interval.tv_usec == 50000);
    getitimer(ITIMER_REAL, &it);
    check("disarmed", it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0);

    struct itimerval bad = {{0, 0}, {0, 1000000}};
    check_eq("tv_usec 1000000", -1, setitimer(ITIMER_REAL, &bad, NULL));
    check_eq("errno EINVAL", EINVAL, errno);
    check_eq("which 5", -1, getitimer(5, &it));
    check_eq("errno EINVAL", EINVAL, errno);
    struct itimerval v = {{0, 0}, {1, 0}};
    check_eq("ITIMER_VIRTUAL accepted", 0, setitimer(ITIMER_VIRTUAL, &v, NULL));
    getitimer(ITIMER_VIRTUAL, &it);
    check("ITIMER_VIRTUAL reads back armed, at most 1 s left",
          (it.it_value.tv_sec == 1 && it.it_value.tv_usec == 0) ||
          (it.it_value.tv_sec == 0 && it.it_value.tv_usec > 0));
    struct itimerval none = {{0, 0}, {0, 0}};
    check_eq("ITIMER_VIRTUAL disarmed", 0, setitimer(ITIMER_VIRTUAL, &none, NULL));

    alarm(10);
    pid_t child = fork();
    if (child == 0) {
        getitimer(ITIMER_REAL, &it);
        _exit(it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0 ? 0 : 1);
    }
    int status;
    waitpid(child, &status, 0);
    check_eq("fork: the child's timer is disarmed", 0, WEXITSTATUS(status));
    execl(argv[0], argv[0], "again", (char *)0);
    fail("execl: returned");
}
