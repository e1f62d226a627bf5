/* Never ends: `thread_deadlock pause` waits in pause() with nothing to wake it; with no
 * argument, two threads each hold a mutex and wait for the other's.  The kernel must say
 * that every process is blocked, not just stop. */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;

static void *other(void *arg)
{
    pthread_mutex_lock(&b);
    for (int i = 0; i < 10; i++)
        sched_yield();
    pthread_mutex_lock(&a);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        pause();
        return 0;
    }
    pthread_t t;
    pthread_mutex_lock(&a);
    pthread_create(&t, NULL, other, NULL);
    for (int i = 0; i < 10; i++)
        sched_yield();
    pthread_mutex_lock(&b);
    printf("not reached\n");
    return 0;
}
