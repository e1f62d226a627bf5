/* nanosleep sleeps at least as long as asked and refuses a bad time; sched_yield returns
 * 0 and lets other processes run: the parent yields in a loop while its child sleeps,
 * until the child has exited (the sleeping child must wake although the parent never
 * blocks: the clock moves on while the parent runs). */
#include "check.h"
#include <errno.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void)
{
    begin("sleep_yield");
    struct timespec t = {0, 10000000};          /* 10 ms */
    long long start = now_ns();
    check_eq("nanosleep(10 ms)", 0, nanosleep(&t, NULL));
    check("at least 10 ms passed", now_ns() - start >= 10000000);

    struct timespec zero = {0, 0};
    check_eq("nanosleep(0)", 0, nanosleep(&zero, NULL));
    struct timespec bad = {0, 1000000000};
    errno = 0;
    check_eq("nanosleep with tv_nsec = 1e9 fails", -1, nanosleep(&bad, NULL));
    check_eq("with EINVAL", EINVAL, errno);
    check_eq("sched_yield", 0, sched_yield());

    start = now_ns();
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec child = {0, 1000000};   /* 1 ms: the parent yields all along */
        nanosleep(&child, NULL);
        _exit(5);
    }
    long yields = 0;
    int st;
    pid_t r;
    while ((r = waitpid(pid, &st, WNOHANG)) == 0) {
        if (sched_yield() != 0)
            fail("sched_yield failed");
        yields++;
    }
    check("waitpid(WNOHANG) finally returns the child", r == pid);
    check_eq("its exit status", 5, WEXITSTATUS(st));
    check("the parent yielded while the child slept", yields > 0);
    check("the child slept at least 1 ms", now_ns() - start >= 1000000);
    end();
}
