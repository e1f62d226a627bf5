/* Process-directed signals wait on the process's shared queue: with every thread blocking
 * SIGUSR1, kill() leaves it pending for all of them, and the first thread to unblock it --
 * not the one it was sent to -- runs the handler.  A signal sent with tgkill stays on its
 * thread: another thread unblocking it does not take it.  A thread waiting in pause()
 * that does not block a signal is woken for it. */
#include "check.h"
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>

static volatile pid_t usr1_by, usr2_by, worker_tid, waiter_tid;
static volatile int go, pause_errno, waiter_done;

static void on_usr1(int s) { usr1_by = syscall(SYS_gettid); }
static void on_usr2(int s) { usr2_by = syscall(SYS_gettid); }

static int pending(int s)
{
    sigset_t set;
    sigpending(&set);
    return sigismember(&set, s);
}

static void *worker(void *arg)
{
    worker_tid = syscall(SYS_gettid);
    while (go < 1)
        sched_yield();
    /* SIGUSR1 is pending for the process: this thread sees it too, then takes it */
    int seen = pending(SIGUSR1);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    go = seen ? 2 : -1;
    while (go < 3)
        sched_yield();
    /* a SIGUSR2 sent to the main thread alone is not this thread's to take */
    seen = pending(SIGUSR2);
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    go = seen ? -2 : 4;
    return NULL;
}

static void *waiter(void *arg)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);    /* this thread alone takes SIGTERM */
    waiter_tid = syscall(SYS_gettid);
    pause();
    pause_errno = errno;
    waiter_done = 1;
    return NULL;
}

static volatile pid_t term_by;
static void on_term(int s) { term_by = syscall(SYS_gettid); }

int main(void)
{
    begin("sig_group_queue");
    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, on_usr2);
    signal(SIGTERM, on_term);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);      /* threads start with this mask too */
    pthread_t t, w;
    pthread_create(&t, NULL, worker, NULL);
    while (!worker_tid)
        sched_yield();

    check_eq("kill SIGUSR1 while every thread blocks it", 0, kill(getpid(), SIGUSR1));
    check_eq("not delivered yet", 0, usr1_by);
    check_eq("pending for the main thread", 1, pending(SIGUSR1));
    go = 1;
    while (go < 2 && go >= 0)
        sched_yield();
    check_eq("the worker saw it pending (2)", 2, go);
    check_eq("the worker, which unblocked it, ran the handler", worker_tid, usr1_by);
    check_eq("no longer pending for the main thread", 0, pending(SIGUSR1));

    check_eq("tgkill SIGUSR2 to the main thread", 0, syscall(SYS_tgkill, getpid(), getpid(), SIGUSR2));
    go = 3;
    pthread_join(t, NULL);
    check_eq("the worker did not see or take it (4)", 4, go);
    check_eq("still pending for the main thread", 1, pending(SIGUSR2));
    check_eq("not delivered to the worker", 0, usr2_by);
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    check_eq("the main thread takes it once it unblocks it", getpid(), usr2_by);

    pthread_create(&w, NULL, waiter, NULL);
    while (!waiter_tid)
        sched_yield();
    for (int i = 0; i < 100; i++)
        sched_yield();                            /* let it reach pause() */
    check_eq("kill SIGTERM: only the waiter does not block it", 0, kill(getpid(), SIGTERM));
    pthread_join(w, NULL);
    check_eq("the waiter ran the handler", waiter_tid, term_by);
    check_eq("its pause() ended with EINTR", EINTR, pause_errno);
    end();
}
