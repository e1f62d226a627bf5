/* rt_sigtimedwait: a pending signal of the set is taken at once, with its siginfo; with
 * none, the call waits up to its timeout of virtual time and fails with EAGAIN; a signal
 * sent while it waits ends the wait and is returned, not delivered.  A blocked SIGCHLD,
 * ignored by default, is still there for sigtimedwait to take. */
#include "check.h"
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int handled;
static void on_usr(int sig) { handled++; }

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(void)
{
    begin("sig_timedwait");
    signal(SIGUSR1, on_usr);
    signal(SIGUSR2, on_usr);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);

    struct timespec t50 = {0, 50 * 1000 * 1000};
    long long t0 = now_ns();
    check_eq("nothing pending: times out", -1, sigtimedwait(&set, NULL, &t50));
    check_eq("errno EAGAIN", EAGAIN, errno);
    long long waited = now_ns() - t0;
    check("it waited 50 ms of virtual time", waited >= 50000000 && waited < 51000000);
    struct timespec zero = {0, 0};
    check_eq("zero timeout: EAGAIN at once", -1, sigtimedwait(&set, NULL, &zero));
    check_eq("errno EAGAIN", EAGAIN, errno);
    struct timespec bad = {0, 1000000000};
    check_eq("bad timeout", -1, sigtimedwait(&set, NULL, &bad));
    check_eq("errno EINVAL", EINVAL, errno);

    siginfo_t si;
    kill(getpid(), SIGUSR2);
    kill(getpid(), SIGUSR1);
    check_eq("two pending: the lower number first", SIGUSR1, sigtimedwait(&set, &si, &t50));
    check_eq("si_signo", SIGUSR1, si.si_signo);
    check_eq("si_code SI_USER", SI_USER, si.si_code);
    check_eq("si_pid", getpid(), si.si_pid);
    check_eq("then the other", SIGUSR2, sigwaitinfo(&set, &si));
    check_eq("no handler ran", 0, handled);

    pid_t child = fork();
    if (child == 0) {
        nanosleep(&t50, NULL);
        kill(getppid(), SIGUSR2);
        _exit(3);
    }
    struct timespec t5s = {5, 0};
    t0 = now_ns();
    check_eq("a signal sent while waiting is returned", SIGUSR2, sigtimedwait(&set, &si, &t5s));
    check("long before the timeout", now_ns() - t0 < 1000000000);
    check_eq("the child's SIGCHLD, blocked though ignored by default", SIGCHLD, sigtimedwait(&set, &si, &t5s));
    check_eq("si_pid is the child", child, si.si_pid);
    check_eq("si_code CLD_EXITED", CLD_EXITED, si.si_code);
    waitpid(child, NULL, 0);
    check_eq("no handler ran", 0, handled);
    end();
}
