/* sigaltstack and SA_ONSTACK: a handler with SA_ONSTACK runs on the alternate stack (the
 * address of its local is inside it), sees SS_ONSTACK and cannot change the stack while on
 * it (EPERM); the frame's uc_stack describes the stack; one without SA_ONSTACK runs on the
 * ordinary stack.  Bad flags are EINVAL, a stack under MINSIGSTKSZ ENOMEM; SS_DISABLE is
 * reported when there is none; SS_AUTODISARM disarms the stack while its handler runs and
 * rt_sigreturn re-arms it from the frame.  fork inherits the stack, execve drops it. */
#include "check.h"
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

static char altstack[16384] __attribute__((aligned(16)));
static volatile uintptr_t local_at;
static volatile int flags_inside, change_inside, uc_ok;

static void on_usr(int sig, siginfo_t *si, void *ctx)
{
    volatile int here = 0;
    local_at = (uintptr_t)&here;
    stack_t now, other = {.ss_sp = altstack, .ss_size = 4096, .ss_flags = 0};
    sigaltstack(NULL, &now);
    flags_inside = now.ss_flags;
    change_inside = sigaltstack(&other, NULL) == -1 ? errno : 0;
    ucontext_t *uc = ctx;
    uc_ok = uc->uc_stack.ss_sp == altstack && uc->uc_stack.ss_size == sizeof altstack &&
            uc->uc_stack.ss_flags == 0;
}

static int on_alt(void)
{
    return local_at > (uintptr_t)altstack && local_at <= (uintptr_t)altstack + sizeof altstack;
}

int main(int argc, char **argv)
{
    begin("sig_altstack");
    stack_t st;
    if (argc > 1) {
        check_eq("after execve: sigaltstack(NULL, &old)", 0, sigaltstack(NULL, &st));
        check_eq("after execve: no alternate stack (SS_DISABLE)", SS_DISABLE, st.ss_flags);
        end();
    }
    check_eq("sigaltstack(NULL, &old)", 0, sigaltstack(NULL, &st));
    check_eq("at start: SS_DISABLE", SS_DISABLE, st.ss_flags);

    stack_t bad = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 4};
    check_eq("bad ss_flags", -1, sigaltstack(&bad, NULL));
    check_eq("errno EINVAL", EINVAL, errno);
    stack_t small = {.ss_sp = altstack, .ss_size = 1024, .ss_flags = 0};
    check_eq("size below MINSIGSTKSZ", -1, sigaltstack(&small, NULL));
    check_eq("errno ENOMEM", ENOMEM, errno);

    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    check_eq("sigaltstack(16 KiB)", 0, sigaltstack(&ss, NULL));
    sigaltstack(NULL, &st);
    check("read back: same stack, not on it", st.ss_sp == altstack && st.ss_size == sizeof altstack && st.ss_flags == 0);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_usr;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGUSR1, &sa, NULL);
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR2, &sa, NULL);

    raise(SIGUSR1);
    check("SA_ONSTACK handler's local is on the alternate stack", on_alt());
    check_eq("inside: ss_flags SS_ONSTACK", SS_ONSTACK, flags_inside);
    check_eq("inside: changing it is EPERM", EPERM, change_inside);
    check("uc_stack in the frame describes the alternate stack", uc_ok);

    raise(SIGUSR2);
    check("handler without SA_ONSTACK runs on the ordinary stack", !on_alt());
    check_eq("there: ss_flags 0", 0, flags_inside);
    check_eq("there: changing it works", 0, change_inside);
    check_eq("put the 16 KiB stack back", 0, sigaltstack(&ss, NULL));

    pid_t child = fork();
    if (child == 0) {
        stack_t c;
        sigaltstack(NULL, &c);
        exit(c.ss_sp == altstack && c.ss_size == sizeof altstack ? 0 : 1);
    }
    int status;
    waitpid(child, &status, 0);
    check_eq("fork: the child has the same alternate stack", 0, WEXITSTATUS(status));

    stack_t autod = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = SS_AUTODISARM};
    check_eq("SS_AUTODISARM", 0, sigaltstack(&autod, NULL));
    raise(SIGUSR1);
    check("its handler ran on the alternate stack", on_alt());
    check_eq("inside, the stack was disarmed (SS_DISABLE)", SS_DISABLE, flags_inside);
    sigaltstack(NULL, &st);
    check("after the handler it is armed again", st.ss_sp == altstack && st.ss_flags == (int)SS_AUTODISARM);

    stack_t off = {.ss_flags = SS_DISABLE};
    check_eq("SS_DISABLE", 0, sigaltstack(&off, NULL));
    sigaltstack(NULL, &st);
    check_eq("reported SS_DISABLE", SS_DISABLE, st.ss_flags);
    raise(SIGUSR1);
    check("SA_ONSTACK with no alternate stack: the ordinary stack", !on_alt());

    sigaltstack(&ss, NULL);
    execl(argv[0], argv[0], "again", (char *)0);
    fail("execl: returned");
}
