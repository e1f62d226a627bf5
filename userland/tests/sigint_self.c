/* A handler for SIGINT runs when the process signals itself, with raise() and with
 * kill(getpid()), and the program goes on after it returns (rt_sigreturn).  While the
 * handler runs, SIGINT is blocked; afterwards it is not. */
#include "check.h"
#include <signal.h>
#include <unistd.h>

static volatile sig_atomic_t ran, blocked_inside;

static void on_int(int sig)
{
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);         /* just read the mask */
    blocked_inside = sigismember(&now, SIGINT);
    ran += sig == SIGINT;
}

int main(void)
{
    begin("sigint_self");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_int;
    sigemptyset(&sa.sa_mask);
    check_eq("sigaction(SIGINT)", 0, sigaction(SIGINT, &sa, NULL));

    check_eq("raise(SIGINT)", 0, raise(SIGINT));
    check_eq("the handler ran (before raise returned)", 1, ran);
    check_eq("SIGINT was blocked inside the handler", 1, blocked_inside);

    check_eq("kill(getpid(), SIGINT)", 0, kill(getpid(), SIGINT));
    check_eq("the handler ran again", 2, ran);

    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    check_eq("SIGINT is not blocked after the handler returned", 0, sigismember(&now, SIGINT));

    struct sigaction old;
    sigaction(SIGINT, NULL, &old);
    check("the handler is still installed", old.sa_handler == on_int);
    end();
}
