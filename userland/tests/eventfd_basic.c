/* eventfd: writes add to the counter, a read returns it and resets it; EFD_SEMAPHORE reads
 * take 1 at a time; EFD_NONBLOCK reads of 0 fail with EAGAIN; transfers under 8 bytes
 * and a write of 2^64-1 are EINVAL; a blocked read wakes on a child's write; poll and
 * epoll see it readable when the counter is above 0 (the Go runtime's wake-up). */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>

int main(void)
{
    begin("eventfd_basic");
    int e = eventfd(5, 0);
    check("eventfd", e >= 0);
    uint64_t v = 3;
    check_eq("write 3", 8, write(e, &v, 8));
    check_eq("read", 8, read(e, &v, 8));
    check_eq("the counter was 5 + 3", 8, v);
    struct pollfd pf = {e, POLLIN | POLLOUT, 0};
    check_eq("poll: writable only", 1, poll(&pf, 1, 0));
    check_eq("revents", POLLOUT, pf.revents);
    check_eq("short read", -1, read(e, &v, 4));
    check_eq("errno is EINVAL", EINVAL, errno);
    check_eq("short write", -1, write(e, &v, 4));
    check_eq("errno is EINVAL", EINVAL, errno);
    v = UINT64_MAX;
    check_eq("write 2^64-1", -1, write(e, &v, 8));
    check_eq("errno is EINVAL", EINVAL, errno);

    pid_t pid = fork();
    if (pid == 0) {
        usleep(10000);
        uint64_t one = 7;
        write(e, &one, 8);
        _exit(0);
    }
    check_eq("a blocked read wakes on the child's write", 8, read(e, &v, 8));
    check_eq("value", 7, v);
    waitpid(pid, NULL, 0);
    close(e);

    e = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC);
    check_eq("F_GETFD: close-on-exec", FD_CLOEXEC, fcntl(e, F_GETFD));
    check("F_GETFL: O_NONBLOCK", fcntl(e, F_GETFL) & O_NONBLOCK);
    check_eq("semaphore read 1", 8, read(e, &v, 8));
    check_eq("value 1", 1, v);
    check_eq("semaphore read 2", 8, read(e, &v, 8));
    check_eq("value 1", 1, v);
    errno = 0;
    check_eq("non-blocking read of 0", -1, read(e, &v, 8));
    check_eq("errno is EAGAIN", EAGAIN, errno);
    v = UINT64_MAX - 1;
    check_eq("fill the counter", 8, write(e, &v, 8));
    v = 1;
    errno = 0;
    check_eq("non-blocking write that would overflow", -1, write(e, &v, 8));
    check_eq("errno is EAGAIN", EAGAIN, errno);
    close(e);

    e = eventfd(0, EFD_NONBLOCK);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 42}, out;
    check_eq("epoll ADD eventfd", 0, epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev));
    check_eq("nothing yet", 0, epoll_wait(ep, &out, 1, 0));
    pid = fork();
    if (pid == 0) {
        usleep(10000);
        uint64_t one = 1;
        write(e, &one, 8);
        _exit(0);
    }
    check_eq("epoll_wait wakes on the eventfd write", 1, epoll_wait(ep, &out, 1, -1));
    check_eq("data", 42, out.data.u64);
    check_eq("events", EPOLLIN, out.events);
    waitpid(pid, NULL, 0);
    check_eq("edge-triggered: not again", 0, epoll_wait(ep, &out, 1, 0));
    check_eq("eventfd2 with bad flags", -1, eventfd(0, 0x100));
    end();
}
