/* Leaves a detached child behind: it starts a session of its own (so no Ctrl-C reaches it)
 * and sleeps a second at a time, forever.  The parent says so and exits at once. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        setsid();
        struct timespec second = {.tv_sec = 1};
        for (;;)
            nanosleep(&second, 0);
    }
    printf("detach_sleeper: left pid %d running in a session of its own\n", pid);
    return 0;
}
