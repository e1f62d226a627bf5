/* A signal sent with tgkill runs its handler on the thread it names, whose gettid the
 * handler records; a process-directed signal (kill) goes to a thread that does not block
 * it; each thread has its own signal mask. */
#include "check.h"
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>

static volatile pid_t handled_by, worker_tid;
static volatile int stop, usr2_count;

static void on_usr1(int s) { handled_by = syscall(SYS_gettid); }
static void on_usr2(int s) { usr2_count++; handled_by = syscall(SYS_gettid); }

static void *worker(void *arg)
{
    worker_tid = syscall(SYS_gettid);
    while (!stop)
        sched_yield();
    return NULL;
}

int main(void)
{
    begin("thread_signal");
    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, on_usr2);
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    while (!worker_tid)
        sched_yield();
    check_eq("tgkill to the worker", 0, syscall(SYS_tgkill, getpid(), worker_tid, SIGUSR1));
    while (!handled_by)
        sched_yield();
    check_eq("the handler ran on the worker", worker_tid, handled_by);
    handled_by = 0;
    check_eq("tgkill to the main thread", 0, syscall(SYS_tgkill, getpid(), getpid(), SIGUSR1));
    check_eq("the handler ran on the main thread", getpid(), handled_by);
    check_eq("tgkill with the wrong process", -1, syscall(SYS_tgkill, getpid() + 1000, worker_tid, SIGUSR1));
    /* the main thread blocks SIGUSR2: kill() must reach the worker */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    handled_by = 0;
    kill(getpid(), SIGUSR2);
    while (!handled_by)
        sched_yield();
    check_eq("kill() reached the thread not blocking it", worker_tid, handled_by);
    check_eq("handled once", 1, usr2_count);
    stop = 1;
    pthread_join(t, NULL);
    end();
}
