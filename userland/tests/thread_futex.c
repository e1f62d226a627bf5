/* futex through the raw system call: EAGAIN when the word has changed, ETIMEDOUT after a
 * relative (FUTEX_WAIT) and an absolute (FUTEX_WAIT_BITSET) timeout on the virtual clock,
 * EFAULT for an unmapped word, EINVAL for a misaligned one; WAKE wakes a waiter, WAKE_OP
 * changes the second word and wakes by its test, CMP_REQUEUE moves waiters; the robust
 * list is stored per thread. */
#include "check.h"
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

static long futex(uint32_t *uaddr, int op, uint32_t val, const void *timeout, uint32_t *uaddr2, uint32_t val3)
{
    long r = syscall(SYS_futex, uaddr, op, val, timeout, uaddr2, val3);
    return r < 0 ? -errno : r;
}

static long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static uint32_t word, word2;
static volatile int waiting;

static void *waiter(void *arg)
{
    __atomic_fetch_add(&waiting, 1, __ATOMIC_SEQ_CST);
    long r = futex(arg, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    __atomic_fetch_sub(&waiting, 1, __ATOMIC_SEQ_CST);
    return (void *)r;
}

static void settle(int expect)
{
    while (waiting != expect)
        sched_yield();
    for (int i = 0; i < 50; i++)        /* (and let them reach the kernel) */
        sched_yield();
}

int main(void)
{
    begin("thread_futex");
    word = 1;
    check_eq("WAIT with the wrong value", -EAGAIN, futex(&word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0));
    struct timespec ten_ms = {0, 10 * 1000 * 1000};
    long t0 = now_ns();
    check_eq("WAIT for 10 ms", -ETIMEDOUT, futex(&word, FUTEX_WAIT_PRIVATE, 1, &ten_ms, NULL, 0));
    long waited = now_ns() - t0;
    check("10 ms of virtual time went by", waited >= 10000000 && waited < 20000000);
    struct timespec abs;
    clock_gettime(CLOCK_MONOTONIC, &abs);
    abs.tv_nsec += 5000000;
    if (abs.tv_nsec >= 1000000000) { abs.tv_sec++; abs.tv_nsec -= 1000000000; }
    t0 = now_ns();
    check_eq("WAIT_BITSET until an absolute time", -ETIMEDOUT,
             futex(&word, FUTEX_WAIT_BITSET_PRIVATE, 1, &abs, NULL, FUTEX_BITSET_MATCH_ANY));
    check("5 ms of virtual time went by", now_ns() - t0 >= 5000000);
    check_eq("WAIT_BITSET with an empty bitset", -EINVAL, futex(&word, FUTEX_WAIT_BITSET, 1, &abs, NULL, 0));
    struct timespec bad = {0, 2000000000};
    check_eq("WAIT with a bad timeout", -EINVAL, futex(&word, FUTEX_WAIT, 1, &bad, NULL, 0));
    void *hole = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(hole, 4096);
    check_eq("WAIT on an unmapped word", -EFAULT, futex(hole, FUTEX_WAIT, 0, NULL, NULL, 0));
    check_eq("WAKE on an unmapped word", -EFAULT, futex(hole, FUTEX_WAKE, 1, NULL, NULL, 0));
    check_eq("WAIT on a misaligned word", -EINVAL, futex((uint32_t *)((char *)&word + 1), FUTEX_WAIT, 0, NULL, NULL, 0));
    check_eq("an unknown operation", -ENOSYS, futex(&word, 99, 0, NULL, NULL, 0));
    check_eq("WAKE with no waiters", 0, futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));

    /* three waiters on word: wake one, requeue the rest onto word2, wake them there */
    word = 0;
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, waiter, &word);
    settle(3);
    check_eq("threads waiting", 3, waiting);
    check_eq("WAKE one", 1, futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
    settle(2);
    check_eq("threads still waiting", 2, waiting);
    check_eq("CMP_REQUEUE with a stale value", -EAGAIN,
             futex(&word, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)10, &word2, 5));
    check_eq("CMP_REQUEUE: none woken, two moved", 2,
             futex(&word, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)10, &word2, 0));
    check_eq("WAKE on the old word finds nobody", 0, futex(&word, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0));
    /* WAKE_OP: word2 += 1 (old 0); wake 0 on word, and on word2 if old == 0 */
    word2 = 0;
    uint32_t op = FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 0);
    check_eq("WAKE_OP wakes the requeued waiters", 2,
             futex(&word, FUTEX_WAKE_OP_PRIVATE, 0, (void *)10, &word2, op));
    check_eq("WAKE_OP added to the second word", 1, word2);
    op = FUTEX_OP(FUTEX_OP_OR, 4, FUTEX_OP_CMP_GT, 5);
    check_eq("WAKE_OP whose test fails wakes nobody", 0,
             futex(&word, FUTEX_WAKE_OP_PRIVATE, 0, (void *)10, &word2, op));
    check_eq("WAKE_OP or-ed the second word", 5, word2);
    for (int i = 0; i < 3; i++) {
        void *r;
        pthread_join(t[i], &r);
        check_eq("the waiter's FUTEX_WAIT result", 0, (long)r);
    }
    struct robust_list_head head = {{&head.list}, 0, NULL}, *got = NULL;
    size_t len = 0;
    check_eq("set_robust_list with a bad size", -EINVAL, syscall(SYS_set_robust_list, &head, 7) < 0 ? -errno : 0);
    check_eq("set_robust_list", 0, syscall(SYS_set_robust_list, &head, sizeof head));
    check_eq("get_robust_list", 0, syscall(SYS_get_robust_list, 0, &got, &len));
    check("get_robust_list gives the head back", got == &head && len == sizeof head);
    end();
}
