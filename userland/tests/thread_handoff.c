/* The mutex hand-off benchmark (bench/run.py): two threads pass a turn back and forth
 * N times under one mutex and a condition variable, so every hand-off is an unlock, a
 * wake-up and a wait.  Prints the count and the elapsed time on the clock it runs on.
 *   thread_handoff [N]     (default 2000) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int turn, rounds;

static void *player(void *arg)
{
    int me = (int)(long)arg;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < rounds; i++) {
        while (turn != me)
            pthread_cond_wait(&changed, &lock);
        turn = !me;
        pthread_cond_signal(&changed);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(int argc, char **argv)
{
    rounds = argc > 1 ? atoi(argv[1]) : 2000;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_t a, b;
    pthread_create(&a, NULL, player, (void *)0L);
    pthread_create(&b, NULL, player, (void *)1L);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ns = (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec);
    printf("handoffs %d ns %ld\n", 2 * rounds, ns);
    return 0;
}
