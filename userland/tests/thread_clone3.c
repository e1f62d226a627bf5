/* A thread made with the raw clone3 system call (struct clone_args), as glibc 2.34+ makes
 * them: it runs on its own stack, sets its CLONE_PARENT_SETTID / CHILD_SETTID words, and
 * at its exit the kernel clears its CLONE_CHILD_CLEARTID word and wakes the futex on it.
 * clone3 rejects a bad size and unknown flags. */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/syscall.h>

struct clone_args_v0 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static char stack[65536] __attribute__((aligned(16)));
static volatile int32_t ctid, ptid, ran_tid, shared = 0;

static void child(void)
{
    ran_tid = syscall(SYS_gettid);      /* no TLS use: the thread shares the parent's */
    shared = 42;
}

/* The child returns from the system call on the new stack: call child(), then exit. */
static long clone3_thread(struct clone_args_v0 *args, size_t size)
{
    long ret;
    register void (*fn)(void) asm("r12") = child;
    asm volatile("syscall\n\t"
                 "test %%rax, %%rax\n\t"
                 "jnz 1f\n\t"
                 "call *%%r12\n\t"
                 "mov $60, %%eax\n\t"
                 "xor %%edi, %%edi\n\t"
                 "syscall\n\t"
                 "hlt\n"
                 "1:"
                 : "=a"(ret) : "a"(SYS_clone3), "D"(args), "S"(size), "r"(fn)
                 : "rcx", "r11", "memory");
    return ret;
}

int main(void)
{
    begin("thread_clone3");
    struct clone_args_v0 args = {
        .flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                 CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID,
        .child_tid = (uintptr_t)&ctid, .parent_tid = (uintptr_t)&ptid,
        .stack = (uintptr_t)stack, .stack_size = sizeof stack,
    };
    check_eq("clone3 with a bad size", -EINVAL, clone3_thread(&args, 40));
    args.flags |= 1ULL << 40;
    check_eq("clone3 with an unknown flag", -EINVAL, clone3_thread(&args, sizeof args));
    args.flags &= ~(1ULL << 40);
    ctid = -1;                          /* neither a tid nor the 0 of a finished thread */
    long tid = clone3_thread(&args, sizeof args);
    check("clone3 returns the new thread's tid", tid > 0 && tid != getpid());
    check_eq("CLONE_PARENT_SETTID", tid, ptid);
    int32_t seen;
    while ((seen = ctid) != 0)          /* CHILD_SETTID put tid here; exit clears it */
        syscall(SYS_futex, &ctid, FUTEX_WAIT, seen, NULL, NULL, 0);
    check_eq("the thread ran with its own tid", tid, ran_tid);
    check_eq("and wrote to the shared memory", 42, shared);
    check_eq("its CHILD_CLEARTID word was cleared", 0, ctid);
    end();
}
