/* labs/pgtbl: the ukern page.  ukern_getpid() (a load from UKERN_USYSCALL, no system call)
 * agrees with getpid() in the first process and in a forked child -- each has a page of its
 * own -- and the page is read-only: a write is SIGSEGV, at that address. */
#include "check.h"
#include "ukern.h"
#include <setjmp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static sigjmp_buf escape;
static void *volatile fault_addr;

static void on_segv(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)context;
    fault_addr = info->si_addr;
    siglongjmp(escape, 1);
}

/* ukern_getpid(), or a FAIL line (not a crash) when the page is not there. */
static long ugetpid(const char *who)
{
    if (sigsetjmp(escape, 1))
        fail("%s: reading the ukern page at %#lx faulted (SIGSEGV at %p): it is not mapped "
             "user-readable", who, UKERN_USYSCALL, fault_addr);
    return ukern_getpid();
}

int main(void)
{
    begin("pgtbl_ugetpid");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    check_eq("sigaction(SIGSEGV)", 0, sigaction(SIGSEGV, &sa, NULL));

    check_eq("parent: ukern_getpid() == getpid()", getpid(), ugetpid("parent"));

    pid_t pid = fork();
    if (pid == 0) {
        check_eq("child: ukern_getpid() == getpid() (its own pid, not the parent's)",
                 getpid(), ugetpid("child"));
        _exit(0);
    }
    check("fork", pid > 0);
    int st;
    check("waitpid returns the child", waitpid(pid, &st, 0) == pid);
    check_eq("the child's exit status", 0, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    check_eq("parent after fork: ukern_getpid() == getpid()", getpid(), ugetpid("parent after fork"));

    if (sigsetjmp(escape, 1) == 0) {
        ((volatile struct ukern_usyscall *)UKERN_USYSCALL)->pid = 12345;
        fail("writing the ukern page did not fault: it must not be writable");
    }
    check_eq("a write to the ukern page is SIGSEGV at its address", (long)UKERN_USYSCALL, (long)fault_addr);
    check_eq("the page still holds the pid", getpid(), ugetpid("after the write"));
    end();
}
