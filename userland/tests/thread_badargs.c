/* Bad arguments to the thread and futex calls give errors, never a kernel failure: bad
 * pointers EFAULT, bad flags EINVAL, unknown threads ESRCH; a thread whose robust list and
 * clear_child_tid word point nowhere still exits cleanly. */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define BAD ((void *)0x10)

static long sys(long nr, long a, long b, long c, long d, long e, long f)
{
    long r = syscall(nr, a, b, c, d, e, f);
    return r < 0 ? -errno : r;
}

static uint32_t word;

static void *bad_robust(void *arg)
{
    static struct { void *list; long off; void *pending; } loop;
    loop.list = &loop;                   /* a list of one: itself, with a wild offset */
    loop.off = 1L << 40;
    loop.pending = BAD;
    syscall(SYS_set_robust_list, arg ? (void *)&loop : BAD, 24);
    return NULL;
}

int main(void)
{
    begin("thread_badargs");
    check_eq("futex WAIT on NULL", -EFAULT, sys(SYS_futex, 0, FUTEX_WAIT, 0, 0, 0, 0));
    check_eq("futex WAIT with a bad timeout pointer", -EFAULT,
             sys(SYS_futex, (long)&word, FUTEX_WAIT, 0, (long)BAD, 0, 0));
    check_eq("CMP_REQUEUE to a bad word", -EFAULT,
             sys(SYS_futex, (long)&word, FUTEX_CMP_REQUEUE, 1, 1, (long)BAD, 0));
    check_eq("WAKE_OP on a bad word", -EFAULT,
             sys(SYS_futex, (long)&word, FUTEX_WAKE_OP, 1, 1, (long)BAD, FUTEX_OP(FUTEX_OP_SET, 1, FUTEX_OP_CMP_EQ, 0)));
    check_eq("WAKE_OP with an unknown operation", -ENOSYS,
             sys(SYS_futex, (long)&word, FUTEX_WAKE_OP, 1, 1, (long)&word, 7u << 28));
    check_eq("WAKE_BITSET with no bits", -EINVAL, sys(SYS_futex, (long)&word, FUTEX_WAKE_BITSET, 1, 0, 0, 0));
    check_eq("CLOCK_REALTIME with WAKE", -ENOSYS,
             sys(SYS_futex, (long)&word, FUTEX_WAKE | FUTEX_CLOCK_REALTIME, 1, 0, 0, 0));
    check_eq("clone3 from a bad pointer", -EFAULT, sys(SYS_clone3, (long)BAD, 64, 0, 0, 0, 0));
    check_eq("clone with CLONE_THREAD but not CLONE_SIGHAND", -EINVAL,
             sys(SYS_clone, CLONE_VM | CLONE_THREAD, 0, 0, 0, 0, 0));
    check_eq("clone with CLONE_SIGHAND but not CLONE_VM", -EINVAL, sys(SYS_clone, CLONE_SIGHAND, 0, 0, 0, 0, 0));
    check_eq("get_robust_list into bad pointers", -EFAULT,
             sys(SYS_get_robust_list, 0, (long)BAD, (long)BAD, 0, 0, 0));
    check_eq("get_robust_list of nobody", -ESRCH, sys(SYS_get_robust_list, 99999, (long)&word, (long)&word, 0, 0, 0));
    check_eq("tgkill of nobody", -ESRCH, sys(SYS_tgkill, getpid(), 99999, SIGUSR1, 0, 0, 0));
    check_eq("tgkill with a bad signal", -EINVAL, sys(SYS_tgkill, getpid(), getpid(), 999, 0, 0, 0));
    check_eq("tgkill of tid 0", -EINVAL, sys(SYS_tgkill, getpid(), 0, SIGUSR1, 0, 0, 0));
    pthread_t t;
    pthread_create(&t, NULL, bad_robust, NULL);
    pthread_join(t, NULL);
    check("a thread whose robust list points nowhere exits", 1);
    pthread_create(&t, NULL, bad_robust, (void *)1);
    pthread_join(t, NULL);
    check("a thread whose robust list is a wild loop exits", 1);
    pid_t child = fork();
    if (child == 0) {
        syscall(SYS_set_tid_address, BAD);
        syscall(SYS_exit, 5);
    }
    int status;
    waitpid(child, &status, 0);
    check_eq("a thread whose clear_child_tid points nowhere exits", 5, WEXITSTATUS(status));
    end();
}
