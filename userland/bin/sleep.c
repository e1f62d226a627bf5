/* sleep: wait for a while.
 *   sleep seconds      (a fraction is allowed: sleep 0.25) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    char *end;
    double seconds = argc == 2 ? strtod(argv[1], &end) : -1;
    if (argc != 2 || end == argv[1] || *end != 0 || seconds < 0) {
        fprintf(stderr, "usage: sleep seconds\n");
        return 1;
    }
    struct timespec t;
    t.tv_sec = (time_t)seconds;
    t.tv_nsec = (long)((seconds - (double)t.tv_sec) * 1e9);
    /* A signal whose handler returns cuts nanosleep short: sleep the rest. */
    while (nanosleep(&t, &t) < 0) {
        if (errno != EINTR) {
            perror("sleep");
            return 1;
        }
    }
    return 0;
}
