/* ppoll and pselect6 wait with the signal mask they are given: SIGUSR1 is blocked, a
 * child sends it while the parent waits in ppoll with an empty mask, so ppoll fails with
 * EINTR and the handler runs; afterwards SIGUSR1 is blocked again.  A signal already
 * pending and unblocked by the mask ends pselect at once.  With SIGUSR1 blocked in the
 * mask given, ppoll times out and the signal stays pending. */
#include "check.h"
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>
#include <sys/select.h>
#include <sys/wait.h>

static volatile int handled;
static void on_usr1(int s) { (void)s; handled++; }

static int usr1_blocked(void)
{
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    return sigismember(&now, SIGUSR1);
}

int main(void)
{
    begin("poll_sigmask");
    signal(SIGUSR1, on_usr1);
    sigset_t block, empty;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&empty);
    sigprocmask(SIG_BLOCK, &block, NULL);
    int p[2];
    pipe(p);
    struct pollfd fd = {p[0], POLLIN, 0};

    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        usleep(10000);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    errno = 0;
    check_eq("ppoll with an empty mask, then SIGUSR1", -1, ppoll(&fd, 1, NULL, &empty));
    check_eq("errno is EINTR", EINTR, errno);
    check_eq("the handler ran", 1, handled);
    check("SIGUSR1 is blocked again", usr1_blocked());
    waitpid(pid, NULL, 0);

    kill(getpid(), SIGUSR1);                   /* pending, blocked */
    check_eq("not handled while blocked", 1, handled);
    errno = 0;
    fd_set r;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    check_eq("pselect with an empty mask and SIGUSR1 pending", -1,
             pselect(p[0] + 1, &r, NULL, NULL, NULL, &empty));
    check_eq("errno is EINTR", EINTR, errno);
    check_eq("the handler ran", 2, handled);
    check("SIGUSR1 is blocked again", usr1_blocked());

    kill(getpid(), SIGUSR1);
    struct timespec ts = {0, 5000000};
    check_eq("ppoll with SIGUSR1 still blocked times out", 0, ppoll(&fd, 1, &ts, &block));
    check_eq("the handler did not run", 2, handled);
    sigprocmask(SIG_UNBLOCK, &block, NULL);
    check_eq("unblocking delivers it", 3, handled);
    end();
}
