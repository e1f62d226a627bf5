/* pthread_create and pthread_join with return values; every thread has its own tid and
 * the process's pid; __thread variables are per thread; a mutex contended by four threads
 * keeps an exact count. */
#include "check.h"
#include <pthread.h>
#include <unistd.h>
#include <sys/syscall.h>

#define THREADS 4
#define ROUNDS 10000

static __thread int tls_value = 7;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static pid_t pids[THREADS], tids[THREADS];
static int tls_seen[THREADS];

static void *worker(void *arg)
{
    long i = (long)arg;
    pids[i] = getpid();
    tids[i] = syscall(SYS_gettid);
    tls_value += (int)i * 100;              /* changes this thread's copy only */
    for (int n = 0; n < ROUNDS; n++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
        if (n % 1000 == 0)
            sched_yield();
    }
    tls_seen[i] = tls_value;
    return (void *)(i * 10 + 1);
}

int main(void)
{
    begin("thread_basic");
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        check_eq("pthread_create", 0, pthread_create(&t[i], NULL, worker, (void *)i));
    long sum = 0;
    for (int i = 0; i < THREADS; i++) {
        void *ret;
        check_eq("pthread_join", 0, pthread_join(t[i], &ret));
        sum += (long)ret;
    }
    check_eq("sum of the threads' return values", 0 * 10 + 1 + 10 + 1 + 20 + 1 + 30 + 1, sum);
    check_eq("counter under the mutex", THREADS * ROUNDS, counter);
    int distinct = 1;
    for (int i = 0; i < THREADS; i++) {
        if (pids[i] != getpid())
            fail("thread %d: getpid %d, main's %d", i, pids[i], getpid());
        if (tids[i] == getpid())
            distinct = 0;
        for (int j = 0; j < i; j++)
            if (tids[j] == tids[i])
                distinct = 0;
        if (tls_seen[i] != 7 + i * 100)
            fail("thread %d: __thread value %d", i, tls_seen[i]);
    }
    check("getpid is the same in every thread", 1);
    check("every thread has its own tid, none is the pid", distinct);
    check_eq("main thread's gettid is its pid", getpid(), syscall(SYS_gettid));
    check_eq("main thread's __thread value untouched", 7, tls_value);
    end();
}
