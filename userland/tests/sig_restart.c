/* SA_RESTART: a read of an empty pipe and a waitpid interrupted by a SIGALRM whose handler
 * has SA_RESTART carry on after the handler and return the data / the child, as on Linux. */
#include "check.h"
#include <errno.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int alarms;
static void on_alarm(int sig) { alarms++; }

static void arm_ms(int ms)
{
    struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

int main(void)
{
    begin("sig_restart");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);

    int fds[2];
    pipe(fds);
    pid_t child = fork();
    if (child == 0) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
        write(fds[1], "late", 4);
        nanosleep(&ts, NULL);
        _exit(7);
    }
    arm_ms(50);
    char buf[8] = {0};
    ssize_t n = read(fds[0], buf, sizeof buf);
    check_eq("the handler ran during read", 1, alarms);
    check_eq("read restarted and returned the data", 4, n);
    check("the data", memcmp(buf, "late", 4) == 0);

    arm_ms(50);
    int status = 0;
    pid_t got = waitpid(child, &status, 0);
    check_eq("the handler ran during waitpid", 2, alarms);
    check_eq("waitpid restarted and returned the child", child, got);
    check_eq("its exit status", 7, WEXITSTATUS(status));
    end();
}
