/* Threads meeting the rest of the process model: fork from a thread copies only that
 * thread, and the thread reaps the child; a signal ends a futex wait with EINTR; two
 * processes meet on a futex in a MAP_SHARED page (keyed by the physical page), and a
 * PRIVATE futex there stays each process's own; a thread that exits holding a robust
 * process-shared mutex (musl leaves those to the kernel) leaves it marked FUTEX_OWNER_DIED
 * by the kernel's walk of its robust list (EOWNERDEAD); SIGSTOP stops a threaded process
 * for waitpid(WUNTRACED) even while its main thread is blocked.
 *   thread_more          those checks
 *   thread_more exec     a second thread execve's /bin/echoargs while the main thread waits:
 *                        the other threads end and the new program runs as the process */
#include "check.h"
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static long futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *timeout)
{
    long r = syscall(SYS_futex, uaddr, op, val, timeout, NULL, 0);
    return r < 0 ? -errno : r;
}

static void *fork_here(void *arg)
{
    pid_t child = fork();
    if (child == 0) {
        /* one thread: the one that forked, now the child's main thread */
        _exit(syscall(SYS_gettid) == getpid() ? 7 : 1);
    }
    int status = 0;
    waitpid(child, &status, 0);
    return (void *)(long)status;
}

static uint32_t word;
static volatile pid_t waiter_tid;

static void on_usr1(int s) { }

static void *wait_forever(void *arg)
{
    waiter_tid = syscall(SYS_gettid);
    return (void *)futex(&word, FUTEX_WAIT_PRIVATE, 0, NULL);
}

static pthread_mutex_t robust;

static void *lock_and_vanish(void *arg)
{
    pthread_mutex_lock(&robust);
    syscall(SYS_exit, 0);               /* no unlock, no pthread_exit: the kernel must act */
    return NULL;
}

static void *spin_forever(void *arg)
{
    for (;;)
        sched_yield();
    return NULL;
}

static void *exec_echo(void *arg)
{
    char *argv[] = {"echoargs", "from-a-thread", NULL};
    execve("/bin/echoargs", argv, (char *[]){NULL});
    fail("execve: errno %d", errno);
}

int main(int argc, char **argv)
{
    begin("thread_more");
    pthread_t t;
    if (argc > 1) {
        pthread_create(&t, NULL, exec_echo, NULL);
        pause();
        fail("the main thread outlived the execve");
    }
    void *ret;
    pthread_create(&t, NULL, fork_here, NULL);
    pthread_join(t, &ret);
    check("a thread forks a one-thread child and reaps it", WIFEXITED((long)ret) && WEXITSTATUS((long)ret) == 7);

    struct sigaction sa = {.sa_handler = on_usr1};   /* no SA_RESTART */
    sigaction(SIGUSR1, &sa, NULL);
    pthread_create(&t, NULL, wait_forever, NULL);
    while (!waiter_tid)
        sched_yield();
    for (int i = 0; i < 10; i++)
        sched_yield();
    syscall(SYS_tgkill, getpid(), waiter_tid, SIGUSR1);
    pthread_join(t, &ret);
    check_eq("a signal ends FUTEX_WAIT", -EINTR, (long)ret);

    uint32_t *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    *shared = 0;
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < 20; i++)
            sched_yield();
        long private = futex(shared, FUTEX_WAKE_PRIVATE, 1, NULL);
        *shared = 1;
        long woken = futex(shared, FUTEX_WAKE, 1, NULL);
        _exit(private == 0 && woken == 1 ? 0 : 1);
    }
    struct timespec second = {1, 0};
    check_eq("FUTEX_WAIT on a shared page, woken by another process", 0, futex(shared, FUTEX_WAIT, 0, &second));
    int status;
    waitpid(child, &status, 0);
    check_eq("the child's private wake met nobody, its shared wake one", 0, WEXITSTATUS(status));

    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);   /* musl then uses the kernel's list */
    pthread_mutex_init(&robust, &ma);
    pthread_create(&t, NULL, lock_and_vanish, NULL);
    for (int i = 0; i < 20; i++)
        sched_yield();
    check_eq("locking a robust mutex whose owner died", EOWNERDEAD, pthread_mutex_lock(&robust));
    check_eq("made consistent", 0, pthread_mutex_consistent(&robust));
    check_eq("unlocked", 0, pthread_mutex_unlock(&robust));

    /* a two-thread child, one thread blocked in pause(): SIGSTOP stops the process */
    child = fork();
    if (child == 0) {
        pthread_create(&t, NULL, spin_forever, NULL);
        pause();
        _exit(1);
    }
    for (int i = 0; i < 20; i++)
        sched_yield();
    kill(child, SIGSTOP);
    check_eq("waitpid(WUNTRACED) sees the threaded child stop", child, waitpid(child, &status, WUNTRACED));
    check("stopped by SIGSTOP", WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP);
    kill(child, SIGCONT);
    kill(child, SIGTERM);
    check_eq("then SIGTERM ends it", child, waitpid(child, &status, 0));
    check("killed by SIGTERM", WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    end();
}
