/* Without SA_RESTART, a read of an empty pipe interrupted by a handler fails with EINTR;
 * a pipe write that had written part of its data returns that count; nanosleep returns
 * EINTR even with SA_RESTART, as on Linux. */
#include "check.h"
#include <errno.h>
#include <signal.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile int alarms;
static void on_alarm(int sig) { alarms++; }

static void arm_ms(int ms)
{
    struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static void handler(int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = flags;
    sigaction(SIGALRM, &sa, NULL);
}

static char big[100000];

int main(void)
{
    begin("sig_eintr");
    int fds[2];
    pipe(fds);
    handler(0);
    arm_ms(20);
    char buf[8];
    check_eq("read of an empty pipe, no SA_RESTART", -1, read(fds[0], buf, sizeof buf));
    check_eq("errno EINTR", EINTR, errno);
    check_eq("the handler ran", 1, alarms);

    arm_ms(20);
    check_eq("a write bigger than the pipe returns what it wrote", 65536, write(fds[1], big, sizeof big));
    check_eq("the handler ran", 2, alarms);

    handler(SA_RESTART);
    char drain[65536];
    read(fds[0], drain, sizeof drain);
    arm_ms(20);
    struct timespec ts = {1, 0};
    check_eq("nanosleep with SA_RESTART", -1, nanosleep(&ts, NULL));
    check_eq("errno EINTR", EINTR, errno);
    end();
}
