/* Time is virtual: clock_gettime moves forward, nanosleep advances the clock by at least
 * the time asked, gettimeofday agrees with CLOCK_REALTIME. */
#include "check.h"
#include <time.h>
#include <sys/time.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void)
{
    begin("vclock");
    struct timespec a, b, req = {0, 5000000};
    clock_gettime(CLOCK_MONOTONIC, &a);
    check_eq("nanosleep(5 ms) returns 0", 0, nanosleep(&req, NULL));
    clock_gettime(CLOCK_MONOTONIC, &b);
    check("monotonic clock advanced by at least 5 ms", ns(b) - ns(a) >= 5000000);
    check("and by less than 6 ms", ns(b) - ns(a) < 6000000);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    check("realtime is after 2026-01-01", tv.tv_sec >= 1767225600);
    end();
}
