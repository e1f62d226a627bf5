/* Two threads computing at once under gdb (tests/test_reverse.py): the scheduler preempts
 * them every quantum, so their milestones interleave; going backwards and forwards again
 * must meet the same milestones in the same order. */
#include <pthread.h>
#include <stdio.h>

#define ROUNDS 400000
#define EVERY 100000

volatile int events;            /* milestones met so far, by either thread */
volatile int last;              /* the last one: 10 * thread + its count */

__attribute__((noinline)) static void milestone(int id, int k)
{
    events = events + 1;
    last = 10 * id + k;
}

static void *worker(void *arg)
{
    int id = (int)(long)arg;
    volatile long sum = 0;
    for (int i = 1; i <= ROUNDS; i++) {
        sum += i ^ id;
        if (i % EVERY == 0)
            milestone(id, i / EVERY);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[2];
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, worker, (void *)(i + 1));
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("gdbrace: %d milestones\n", events);
    return 0;
}
