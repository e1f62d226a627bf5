/* An interrupted nanosleep / clock_nanosleep writes the time left into `rem` and returns
 * EINTR after a handler; a sleep that a stop interrupts (SIGSTOP, SIGCONT: no handler)
 * carries on to its original end, through restart_syscall. */
#include "check.h"
#include <errno.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int alarms;
static void on_alarm(int sig) { alarms++; }

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void arm_ms(int ms)
{
    struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static int near(long long ns, long long expected) { return ns > expected - 1000000 && ns < expected + 1000000; }

int main(void)
{
    begin("sig_nanosleep");
    signal(SIGALRM, on_alarm);
    struct timespec req = {1, 0}, rem = {0, 0};
    arm_ms(300);
    check_eq("nanosleep(1 s) interrupted at 300 ms", -1, nanosleep(&req, &rem));
    check_eq("errno EINTR", EINTR, errno);
    long long left = rem.tv_sec * 1000000000LL + rem.tv_nsec;
    msg("rem = %lld ns", left);
    check("rem is about 700 ms", near(left, 700000000));

    arm_ms(100);
    req.tv_sec = 0;
    req.tv_nsec = 500 * 1000 * 1000;
    int r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, &rem);
    check_eq("clock_nanosleep(500 ms) interrupted at 100 ms returns EINTR", EINTR, r);
    left = rem.tv_sec * 1000000000LL + rem.tv_nsec;
    check("rem is about 400 ms", near(left, 400000000));
    check_eq("two handlers ran", 2, alarms);

    int pipefd[2];
    pipe(pipefd);
    pid_t child = fork();
    if (child == 0) {
        struct timespec half = {0, 500 * 1000 * 1000};
        long long t0 = now_ns();
        int r = nanosleep(&half, NULL);
        long long took = now_ns() - t0;
        write(pipefd[1], &took, sizeof took);
        _exit(r == 0 ? 0 : 1);
    }
    struct timespec t100 = {0, 100 * 1000 * 1000};
    nanosleep(&t100, NULL);
    kill(child, SIGSTOP);
    nanosleep(&t100, NULL);
    kill(child, SIGCONT);
    int status;
    waitpid(child, &status, 0);
    long long took = 0;
    read(pipefd[0], &took, sizeof took);
    check_eq("the stopped child's nanosleep returned 0", 0, WEXITSTATUS(status));
    msg("it took %lld ns", took);
    check("and slept its 500 ms, no more", took >= 500000000 && took < 501000000);
    end();
}
