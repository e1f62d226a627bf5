/* exit ends one thread, exit_group the process: a thread that calls the raw exit leaves
 * the others running (musl cannot join such a thread: it is only seen to be gone); the
 * main thread may end with pthread_exit and the process lives on in its threads; the
 * process's exit status is exit_group's even while other threads spin.
 *   thread_exit            checks, then exit(3) with a thread spinning: status 3
 *   thread_exit mainexit   the main thread pthread_exits; the last thread exits 4 */
#include "check.h"
#include <pthread.h>
#include <sched.h>
#include <unistd.h>
#include <sys/syscall.h>

static volatile int progress, exiting;

static void *raw_exit(void *arg)
{
    exiting = 1;
    syscall(SYS_exit, 0);               /* this thread only */
    for (;;)
        progress = -1000000;            /* never runs */
    return NULL;
}

static void *spin(void *arg)
{
    for (;;)
        progress++;
    return NULL;
}

static void *last(void *arg)
{
    for (int i = 0; i < 20; i++)
        sched_yield();
    msg("the last thread ends the process");
    exit(4);
}

int main(int argc, char **argv)
{
    begin("thread_exit");
    pthread_t t;
    if (argc > 1) {
        pthread_create(&t, NULL, last, NULL);
        pthread_exit(NULL);
    }
    check_eq("pthread_create", 0, pthread_create(&t, NULL, raw_exit, NULL));
    while (!exiting)
        sched_yield();
    for (int i = 0; i < 20; i++)
        sched_yield();
    check("the main thread runs on after a thread's exit", progress == 0);
    pthread_t s;
    pthread_create(&s, NULL, spin, NULL);
    while (progress < 1000)
        sched_yield();
    check("the main thread runs beside a spinning thread", progress >= 1000);
    msg("exit(3) ends every thread");
    exit(3);
}
