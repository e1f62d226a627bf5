/* poll's timeout is virtual time: poll(NULL, 0, 50) and a poll on an empty pipe for 30 ms
 * return 0 after that much time has passed (and not much more); timeout 0 does not wait.
 * select and ppoll time out the same way and report the time left (0). */
#include "check.h"
#include <errno.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/select.h>

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#define SLACK 1000000LL                      /* 1 ms of our own instructions */

int main(void)
{
    begin("poll_timeout");
    long long t0 = now_ns();
    check_eq("poll(NULL, 0, 50)", 0, poll(NULL, 0, 50));
    long long dt = now_ns() - t0;
    check("at least 50 ms passed", dt >= 50000000LL);
    check("less than 51 ms passed", dt < 50000000LL + SLACK);

    int p[2];
    pipe(p);
    struct pollfd fd = {p[0], POLLIN, 0};
    t0 = now_ns();
    check_eq("poll on an empty pipe for 30 ms", 0, poll(&fd, 1, 30));
    dt = now_ns() - t0;
    check("30 ms passed", dt >= 30000000LL && dt < 30000000LL + SLACK);

    t0 = now_ns();
    check_eq("poll with timeout 0", 0, poll(&fd, 1, 0));
    check("it did not wait", now_ns() - t0 < SLACK);

    fd_set r;
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    struct timeval tv = {0, 20000};
    t0 = now_ns();
    check_eq("select for 20 ms", 0, select(p[0] + 1, &r, NULL, NULL, &tv));
    dt = now_ns() - t0;
    check("20 ms passed", dt >= 20000000LL && dt < 20000000LL + SLACK);
    check_eq("the set comes back empty", 0, FD_ISSET(p[0], &r));
    tv.tv_sec = 0;
    tv.tv_usec = 15000;                      /* musl's select passes a copy: ask the kernel */
    check_eq("SYS_select for 15 ms", 0, syscall(SYS_select, p[0] + 1, &r, NULL, NULL, &tv));
    check_eq("the kernel wrote back the time left: 0", 0, tv.tv_sec * 1000000 + tv.tv_usec);

    struct timespec ts = {0, 10000000};
    t0 = now_ns();
    check_eq("ppoll for 10 ms", 0, ppoll(&fd, 1, &ts, NULL));
    dt = now_ns() - t0;
    check("10 ms passed", dt >= 10000000LL && dt < 10000000LL + SLACK);

    struct timeval bad = {0, 1000000};
    check_eq("SYS_select with tv_usec = 1000000", -1, syscall(SYS_select, 1, NULL, NULL, NULL, &bad));
    check_eq("errno is EINVAL", EINVAL, errno);
    end();
}
