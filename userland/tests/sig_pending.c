/* rt_sigpending shows blocked pending signals; unblocking delivers them.  rt_sigprocmask
 * follows Linux: SIG_BLOCK/SIG_UNBLOCK/SIG_SETMASK, EINVAL for another `how` or a sigset
 * size other than 8, SIGKILL and SIGSTOP never blocked. */
#include "check.h"
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

static volatile int got;
static void on_usr1(int sig) { got++; }

int main(void)
{
    begin("sig_pending");
    signal(SIGUSR1, on_usr1);
    sigset_t set, pending, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    check_eq("SIG_BLOCK SIGUSR1", 0, sigprocmask(SIG_BLOCK, &set, NULL));
    raise(SIGUSR1);
    check_eq("not delivered while blocked", 0, got);
    check_eq("sigpending", 0, sigpending(&pending));
    check_eq("SIGUSR1 is pending", 1, sigismember(&pending, SIGUSR1));
    check_eq("SIGUSR2 is not", 0, sigismember(&pending, SIGUSR2));
    unsigned long long raw = 0;
    check_eq("rt_sigpending with sigsetsize 16", -1, syscall(SYS_rt_sigpending, &raw, 16));
    check_eq("errno EINVAL", EINVAL, errno);
    check_eq("SIG_UNBLOCK SIGUSR1", 0, sigprocmask(SIG_UNBLOCK, &set, &old));
    check_eq("delivered on unblocking", 1, got);
    check_eq("old mask had SIGUSR1", 1, sigismember(&old, SIGUSR1));
    sigpending(&pending);
    check_eq("nothing pending now", 0, sigismember(&pending, SIGUSR1));

    unsigned long long mask = 1ULL << (SIGUSR2 - 1);
    check_eq("bad how", -1, syscall(SYS_rt_sigprocmask, 7, &mask, NULL, 8));
    check_eq("errno EINVAL", EINVAL, errno);
    check_eq("sigsetsize 4", -1, syscall(SYS_rt_sigprocmask, SIG_BLOCK, &mask, NULL, 4));
    check_eq("errno EINVAL", EINVAL, errno);
    check_eq("bad how with no set is fine", 0, syscall(SYS_rt_sigprocmask, 7, NULL, &raw, 8));

    unsigned long long all = ~0ULL, now = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, 8);
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, NULL, &now, 8);
    check_eq("SIGKILL cannot be blocked", 0, (now >> (SIGKILL - 1)) & 1);
    check_eq("SIGSTOP cannot be blocked", 0, (now >> (SIGSTOP - 1)) & 1);
    check_eq("SIGUSR2 can", 1, (now >> (SIGUSR2 - 1)) & 1);
    end();
}
