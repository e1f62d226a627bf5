/* epoll level- versus edge-triggered on pipes.  Level: a readable pipe is reported by
 * every epoll_wait until it is drained.  Edge (EPOLLET): reported once per write; a
 * second wait with nothing new returns 0, a new write reports it again.  EPOLLONESHOT:
 * one report, then silence until EPOLL_CTL_MOD re-arms it.  epoll_wait waits for a
 * forked child's write and times out in virtual time; an epoll fd is itself pollable;
 * closing the last descriptor of a watched pipe (not a dup of it) takes it out of the set. */
#include "check.h"
#include <poll.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/wait.h>

/* Is `data` among the n events reported?  (The order is epoll's business.) */
static int has(const struct epoll_event *out, int n, unsigned long long data)
{
    for (int i = 0; i < n; i++)
        if (out[i].data.u64 == data)
            return 1;
    return 0;
}

int main(void)
{
    begin("epoll_trigger");
    int lt[2], et[2], os[2];
    pipe(lt); pipe(et); pipe(os);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    check("epoll_create1", ep >= 0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1111222233334444ULL};
    check_eq("ADD level-triggered", 0, epoll_ctl(ep, EPOLL_CTL_ADD, lt[0], &ev));
    ev.events = EPOLLIN | EPOLLET; ev.data.u64 = 2;
    check_eq("ADD edge-triggered", 0, epoll_ctl(ep, EPOLL_CTL_ADD, et[0], &ev));
    ev.events = EPOLLIN | EPOLLONESHOT; ev.data.u64 = 3;
    check_eq("ADD one-shot", 0, epoll_ctl(ep, EPOLL_CTL_ADD, os[0], &ev));

    struct epoll_event out[4];
    check_eq("nothing ready: epoll_wait(0)", 0, epoll_wait(ep, out, 4, 0));
    write(lt[1], "a", 1);
    write(et[1], "b", 1);
    write(os[1], "c", 1);
    check_eq("all three ready", 3, epoll_wait(ep, out, 4, 0));
    check_eq("events: EPOLLIN", EPOLLIN, out[0].events);
    check("the level-triggered pipe's data (64 bits)", has(out, 3, 0x1111222233334444ULL));
    check("the edge-triggered pipe's data", has(out, 3, 2));
    check("the one-shot pipe's data", has(out, 3, 3));
    check_eq("again: only the level-triggered one", 1, epoll_wait(ep, out, 4, 0));
    check("it is the level-triggered pipe", out[0].data.u64 == 0x1111222233334444ULL);
    write(et[1], "d", 1);
    write(os[1], "e", 1);
    check_eq("a new write re-arms the edge; the one-shot stays quiet", 2, epoll_wait(ep, out, 4, 0));
    check("the edge-triggered pipe is among them", has(out, 2, 2));
    ev.events = EPOLLIN | EPOLLONESHOT; ev.data.u64 = 33;
    check_eq("MOD re-arms the one-shot", 0, epoll_ctl(ep, EPOLL_CTL_MOD, os[0], &ev));
    check_eq("level + one-shot", 2, epoll_wait(ep, out, 4, 0));
    check("the one-shot's new data", has(out, 2, 33));
    check_eq("maxevents 1 returns 1", 1, epoll_wait(ep, out, 1, 0));

    char buf[8];
    read(lt[0], buf, sizeof buf);
    check_eq("after draining, nothing", 0, epoll_wait(ep, out, 4, 0));

    struct pollfd pf = {ep, POLLIN, 0};
    check_eq("poll on the epoll fd: not readable", 0, poll(&pf, 1, 0));
    pid_t pid = fork();
    if (pid == 0) {
        usleep(10000);
        write(lt[1], "f", 1);
        _exit(0);
    }
    check_eq("epoll_wait(-1) wakes on the child's write", 1, epoll_wait(ep, out, 4, -1));
    check("it is the level-triggered pipe", out[0].data.u64 == 0x1111222233334444ULL);
    check_eq("poll on the epoll fd: readable", 1, poll(&pf, 1, 0));
    waitpid(pid, NULL, 0);
    read(lt[0], buf, sizeof buf);
    check_eq("epoll_wait(20 ms) times out", 0, epoll_wait(ep, out, 4, 20));

    /* The writer of lt is gone after close: the read end reports EPOLLHUP, unasked. */
    close(lt[1]);
    check_eq("writer closed: reported", 1, epoll_wait(ep, out, 4, 0));
    check_eq("events: EPOLLHUP", EPOLLHUP, out[0].events);
    close(lt[0]);
    check_eq("the closed pipe left the set", 0, epoll_wait(ep, out, 4, 0));
    check_eq("DEL of a closed fd: EBADF", -1, epoll_ctl(ep, EPOLL_CTL_DEL, lt[0], NULL));

    /* The entry belongs to the open file: a dup keeps it, the last close removes it. */
    int q[2];
    pipe(q);
    ev.events = EPOLLIN; ev.data.u64 = 9;
    epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &ev);
    int d = dup(q[0]);
    close(q[0]);
    write(q[1], "g", 1);
    check_eq("a dup keeps the pipe in the set (epoll_pwait)", 1, epoll_pwait(ep, out, 4, 0, NULL));
    check_eq("its data", 9, out[0].data.u64);
    close(d);
    check_eq("closing the last descriptor removes it", 0, epoll_wait(ep, out, 4, 0));
    end();
}
