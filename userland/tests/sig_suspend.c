/* rt_sigsuspend waits with a temporary mask until a handler runs, returns EINTR, and the
 * old mask is back afterwards; the handler runs with the suspend mask plus its own signal. */
#include "check.h"
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile int got, usr2_blocked_inside;

static void on_usr1(int sig)
{
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    usr2_blocked_inside = sigismember(&now, SIGUSR2);
    got = sig;
}

int main(void)
{
    begin("sig_suspend");
    signal(SIGUSR1, on_usr1);
    sigset_t block, wait_mask, after;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, NULL);

    pid_t child = fork();
    if (child == 0) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        kill(getppid(), SIGUSR1);
        _exit(0);
    }
    sigemptyset(&wait_mask);
    sigaddset(&wait_mask, SIGUSR2);        /* SIGUSR1 open, SIGUSR2 blocked while waiting */
    int r = sigsuspend(&wait_mask);
    check_eq("sigsuspend returns -1", -1, r);
    check_eq("errno EINTR", EINTR, errno);
    check_eq("the SIGUSR1 handler ran", SIGUSR1, got);
    check_eq("inside the handler the suspend mask held (SIGUSR2 blocked)", 1, usr2_blocked_inside);
    sigprocmask(SIG_BLOCK, NULL, &after);
    check_eq("afterwards SIGUSR1 is blocked again", 1, sigismember(&after, SIGUSR1));
    check_eq("afterwards SIGUSR2 is not blocked", 0, sigismember(&after, SIGUSR2));
    waitpid(child, NULL, 0);

    got = 0;
    raise(SIGUSR1);                        /* pending and blocked: sigsuspend returns at once */
    check_eq("not delivered while blocked", 0, got);
    sigemptyset(&wait_mask);
    check_eq("sigsuspend with it pending", -1, sigsuspend(&wait_mask));
    check_eq("the handler ran", SIGUSR1, got);
    end();
}
