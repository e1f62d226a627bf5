/* The virtual clock at the end of time: a sleep of LONG_MAX seconds ends where Linux's
 * time types end (it is clamped, as Linux clamps it to KTIME_MAX), and afterwards
 * clock_gettime, gettimeofday and time() still answer with times that fit their types. */
#include <limits.h>
#include <sys/time.h>
#include <time.h>
#include "check.h"

int main(void)
{
    begin("time_far");
    struct timespec forever = {.tv_sec = LONG_MAX, .tv_nsec = 999999999};
    check_eq("nanosleep(LONG_MAX seconds)", 0, nanosleep(&forever, 0));
    struct timespec now;
    check_eq("clock_gettime(CLOCK_MONOTONIC)", 0, clock_gettime(CLOCK_MONOTONIC, &now));
    check("monotonic time is past 200 years", now.tv_sec > 200L * 365 * 24 * 3600);
    check_eq("clock_gettime(CLOCK_REALTIME)", 0, clock_gettime(CLOCK_REALTIME, &now));
    check("real time is positive", now.tv_sec > 0);
    struct timeval tv;
    check_eq("gettimeofday", 0, gettimeofday(&tv, 0));
    check("gettimeofday is positive", tv.tv_sec > 0);
    check("time() is positive", time(0) > 0);
    struct timespec second = {.tv_sec = 1};
    check_eq("a further nanosleep still returns", 0, nanosleep(&second, 0));
    end();
}
