/* Lab threads: clone(CLONE_THREAD | CLONE_VM | ...) makes threads that share memory, file
 * descriptors and the process id; futex(FUTEX_WAIT) sleeps until a FUTEX_WAKE (or the
 * timeout), and FUTEX_WAKE wakes as many waiters as asked, first come first served.
 * Run with the argument "hold", three threads wait on one word and the main thread on
 * another, so the grader finds four waiters and nobody running. */
#include "check.h"
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

static long futex(uint32_t *word, int op, uint32_t val, const struct timespec *timeout)
{
    long r = syscall(SYS_futex, word, op, val, timeout, 0, 0);
    return r < 0 ? -errno : r;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static pid_t tids[4];
static int pipe_fds[2];

static void *adder(void *arg)
{
    long i = (long)arg;
    tids[i] = (pid_t)syscall(SYS_gettid);
    for (int n = 0; n < 1000; n++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    if (i == 0)
        write(pipe_fds[1], "thread", 6);
    return (void *)(long)getpid();
}

static uint32_t word, started, woken, hold_word;
static long results[3];

static void *waiter(void *arg)
{
    long i = (long)arg;
    __atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
    results[i] = futex(&word, FUTEX_WAIT_PRIVATE, 0, NULL);
    __atomic_add_fetch(&woken, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void settle(void)
{
    struct timespec ms10 = {0, 10 * 1000 * 1000};
    nanosleep(&ms10, NULL);
}

static long ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int main(int argc, char **argv)
{
    begin("threads_lab");
    pthread_t th[4];
    if (argc > 1 && strcmp(argv[1], "hold") == 0) {
        for (long i = 0; i < 3; i++) {
            check_eq("pthread_create a waiter", 0, pthread_create(&th[i], NULL, waiter, (void *)i));
            while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) <= i)
                sched_yield();                 /* each waits before the next is made */
            settle();
        }
        printf("hold: word=%p\n", (void *)&word);
        futex(&hold_word, FUTEX_WAIT_PRIVATE, 0, NULL);
        return 0;
    }

    check_eq("pipe", 0, pipe(pipe_fds));
    for (long i = 0; i < 4; i++)
        check_eq("pthread_create", 0, pthread_create(&th[i], NULL, adder, (void *)i));
    int same_pid = 1;
    for (int i = 0; i < 4; i++) {
        void *ret;
        check_eq("pthread_join", 0, pthread_join(th[i], &ret));
        same_pid &= (long)ret == getpid();
    }
    check_eq("the counter four threads added to under a mutex", 4000, counter);
    check("every thread has the process's pid", same_pid);
    int distinct = 1;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < i; j++)
            distinct &= tids[i] != tids[j];
    check("every thread has a thread id of its own", distinct && tids[0] != getpid());
    char buf[8] = {0};
    check_eq("read what a thread wrote into the process's pipe", 6, read(pipe_fds[0], buf, 6));
    check("... \"thread\"", memcmp(buf, "thread", 6) == 0);

    for (long i = 0; i < 3; i++)
        check_eq("pthread_create a futex waiter", 0, pthread_create(&th[i], NULL, waiter, (void *)i));
    while (__atomic_load_n(&started, __ATOMIC_SEQ_CST) < 3)
        sched_yield();
    settle();
    check_eq("waiters woken before any FUTEX_WAKE", 0, woken);
    check_eq("FUTEX_WAKE of 1 wakes one", 1, futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL));
    settle();
    check_eq("waiters that returned", 1, woken);
    check_eq("FUTEX_WAKE of INT_MAX wakes the other two", 2, futex(&word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL));
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    check_eq("waiters that returned", 3, woken);
    check("each FUTEX_WAIT returned 0", results[0] == 0 && results[1] == 0 && results[2] == 0);
    check_eq("FUTEX_WAKE with nobody waiting", 0, futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL));

    struct timespec t0, timeout = {0, 50 * 1000 * 1000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    check_eq("FUTEX_WAIT with a 50 ms timeout", -ETIMEDOUT, futex(&word, FUTEX_WAIT_PRIVATE, 0, &timeout));
    long took = ms_since(&t0);
    check("... returned after 50 ms, not much later", took >= 50 && took < 60);
    check_eq("FUTEX_WAKE after that wait timed out (its waiter left the queue)", 0,
             futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL));
    check_eq("FUTEX_WAIT on a word that changed", -EAGAIN, futex(&word, FUTEX_WAIT_PRIVATE, 7, NULL));
    end();
}
