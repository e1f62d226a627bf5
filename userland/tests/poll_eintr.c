/* A signal ends poll, select and epoll_wait with EINTR (they are never restarted, even
 * with SA_RESTART); the handler has run. */
#include "check.h"
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/wait.h>

static volatile int handled;
static void on_usr1(int s) { (void)s; handled++; }

static pid_t signal_me_soon(void)
{
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
        usleep(10000);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    return pid;
}

int main(void)
{
    begin("poll_eintr");
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    int p[2];
    pipe(p);

    struct pollfd fd = {p[0], POLLIN, 0};
    pid_t pid = signal_me_soon();
    errno = 0;
    check_eq("poll(-1) interrupted", -1, poll(&fd, 1, -1));
    check_eq("errno is EINTR", EINTR, errno);
    check_eq("handler ran", 1, handled);
    waitpid(pid, NULL, 0);

    fd_set r;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    pid = signal_me_soon();
    errno = 0;
    check_eq("select interrupted", -1, select(p[0] + 1, &r, NULL, NULL, NULL));
    check_eq("errno is EINTR", EINTR, errno);
    waitpid(pid, NULL, 0);

    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 1};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    pid = signal_me_soon();
    errno = 0;
    check_eq("epoll_wait interrupted", -1, epoll_wait(ep, &ev, 1, -1));
    check_eq("errno is EINTR", EINTR, errno);
    check_eq("handler ran each time", 3, handled);
    waitpid(pid, NULL, 0);

    /* After the interruptions the pipe still works with poll. */
    write(p[1], "a", 1);
    check_eq("poll sees the byte", 1, poll(&fd, 1, 0));
    end();
}
