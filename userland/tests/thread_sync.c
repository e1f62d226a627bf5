/* Condition variables and barriers: a producer and a consumer pass 1000 items through a
 * one-slot buffer guarded by a mutex and two condition variables; four threads meet at a
 * barrier three times and each sees every other's phase. */
#include "check.h"
#include <pthread.h>

#define ITEMS 1000
#define PARTIES 4
#define PHASES 3

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER, not_full = PTHREAD_COND_INITIALIZER;
static int slot, full;
static long consumed_sum;

static void *producer(void *arg)
{
    for (int i = 1; i <= ITEMS; i++) {
        pthread_mutex_lock(&lock);
        while (full)
            pthread_cond_wait(&not_full, &lock);
        slot = i;
        full = 1;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    for (int i = 1; i <= ITEMS; i++) {
        pthread_mutex_lock(&lock);
        while (!full)
            pthread_cond_wait(&not_empty, &lock);
        if (slot != i)
            fail("consumer: item %d arrived as %d", i, slot);
        consumed_sum += slot;
        full = 0;
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static pthread_barrier_t barrier;
static volatile int phase_of[PARTIES];
static int behind;                      /* a thread that saw another still in an old phase */

static void *party(void *arg)
{
    long me = (long)arg;
    for (int ph = 1; ph <= PHASES; ph++) {
        phase_of[me] = ph;
        pthread_barrier_wait(&barrier);
        for (int j = 0; j < PARTIES; j++)
            if (phase_of[j] < ph)
                __atomic_fetch_add(&behind, 1, __ATOMIC_SEQ_CST);
        pthread_barrier_wait(&barrier);
    }
    return NULL;
}

int main(void)
{
    begin("thread_sync");
    pthread_t p, c, t[PARTIES];
    pthread_create(&c, NULL, consumer, NULL);
    pthread_create(&p, NULL, producer, NULL);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    check_eq("sum of the consumed items", ITEMS * (ITEMS + 1) / 2, consumed_sum);
    check_eq("pthread_barrier_init", 0, pthread_barrier_init(&barrier, NULL, PARTIES));
    for (long i = 0; i < PARTIES; i++)
        pthread_create(&t[i], NULL, party, (void *)i);
    for (int i = 0; i < PARTIES; i++)
        pthread_join(t[i], NULL);
    check_eq("threads that passed the barrier before all arrived", 0, behind);
    for (int i = 0; i < PARTIES; i++)
        check_eq("phase reached", PHASES, phase_of[i]);
    end();
}
