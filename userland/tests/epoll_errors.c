/* EPOLL_CTL errors as Linux gives them: EEXIST for a second ADD, ENOENT for MOD or DEL
 * of what is not there, EBADF for bad descriptors, EINVAL for an fd that is not an epoll,
 * for the epoll itself, for a bad op, and for bad epoll_create / epoll_wait arguments,
 * EPERM for a regular file (or /dev/null), EFAULT for a bad event pointer, ELOOP for a
 * cycle of epolls. */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/epoll.h>

#define check_err(what, err, call) do { errno = 0; long r_ = (call); \
        check_eq(what, -1, r_); check_eq("  errno", err, errno); } while (0)

int main(void)
{
    begin("epoll_errors");
    int ep = epoll_create(1), p[2];
    pipe(p);
    struct epoll_event ev = {.events = EPOLLIN};
    check_eq("ADD", 0, epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
    check_err("ADD again", EEXIST, epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev));
    check_err("MOD of an fd not in the set", ENOENT, epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev));
    check_err("DEL of an fd not in the set", ENOENT, epoll_ctl(ep, EPOLL_CTL_DEL, p[1], &ev));
    check_eq("DEL", 0, epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
    check_err("DEL twice", ENOENT, epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL));
    check_err("bad epfd", EBADF, epoll_ctl(77, EPOLL_CTL_ADD, p[0], &ev));
    check_err("bad fd", EBADF, epoll_ctl(ep, EPOLL_CTL_ADD, 77, &ev));
    check_err("epfd not an epoll", EINVAL, epoll_ctl(p[1], EPOLL_CTL_ADD, p[0], &ev));
    check_err("the epoll in itself", EINVAL, epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev));
    check_err("bad op", EINVAL, epoll_ctl(ep, 9, p[0], &ev));
    check_err("bad event pointer", EFAULT, epoll_ctl(ep, EPOLL_CTL_ADD, p[0], (struct epoll_event *)8));
    int f = open("/dev/null", O_RDONLY);
    check("open /dev/null", f >= 0);
    check_err("/dev/null cannot be watched", EPERM, epoll_ctl(ep, EPOLL_CTL_ADD, f, &ev));
    int reg = open("/etc/motd", O_RDONLY);
    check("open /etc/motd", reg >= 0);
    check_err("a regular file cannot be watched", EPERM, epoll_ctl(ep, EPOLL_CTL_ADD, reg, &ev));
    int dir = open("/", O_RDONLY | O_DIRECTORY);
    check_err("nor a directory", EPERM, epoll_ctl(ep, EPOLL_CTL_ADD, dir, &ev));
    int ep2 = epoll_create1(0);
    check_eq("ADD an epoll to an epoll", 0, epoll_ctl(ep, EPOLL_CTL_ADD, ep2, &ev));
    check_err("and back: a loop", ELOOP, epoll_ctl(ep2, EPOLL_CTL_ADD, ep, &ev));
    check_err("epoll_create(0)", EINVAL, epoll_create(0));
    check_err("epoll_create1(bad flags)", EINVAL, epoll_create1(1));
    struct epoll_event out[2];
    check_err("epoll_wait maxevents 0", EINVAL, epoll_wait(ep, out, 0, 0));
    check_err("epoll_wait on a pipe", EINVAL, epoll_wait(p[0], out, 2, 0));
    check_err("epoll_wait on a bad fd", EBADF, epoll_wait(77, out, 2, 0));
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    write(p[1], "x", 1);                      /* an event to copy out */
    check_err("epoll_wait to a bad buffer", EFAULT, epoll_wait(ep, (struct epoll_event *)8, 2, 0));
    end();
}
