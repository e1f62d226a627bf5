/* A SIGSEGV handler installed with sigaction (SA_SIGINFO) gets the faulting address in
 * si_addr and escapes with siglongjmp; since siglongjmp restores the signal mask, a
 * second fault is caught the same way. */
#include "check.h"
#include <setjmp.h>
#include <signal.h>

static sigjmp_buf escape;
static volatile int caught;
static void *volatile fault_addr;
static volatile int fault_signo;
/* Unmapped addresses, behind volatile pointers so the compiler cannot see through them. */
static int *volatile write_here = (int *)0x10;
static int *volatile read_here = (int *)0x2000;

static void on_segv(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)context;
    caught++;
    fault_addr = info->si_addr;
    fault_signo = info->si_signo;
    siglongjmp(escape, 1);                      /* do not return: the write would fault again */
}

int main(void)
{
    begin("sigsegv_handler");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    check_eq("sigaction(SIGSEGV)", 0, sigaction(SIGSEGV, &sa, NULL));

    if (sigsetjmp(escape, 1) == 0) {
        *write_here = 1;
        fail("the write to 0x10 did not fault");
    }
    check_eq("handler ran once", 1, caught);
    check_eq("si_signo", SIGSEGV, fault_signo);
    check_eq("si_addr is the address written", 0x10, (long)fault_addr);

    if (sigsetjmp(escape, 1) == 0) {
        (void)*(volatile int *)read_here;       /* a read, this time */
        fail("the read from 0x2000 did not fault");
    }
    check_eq("handler ran again (SIGSEGV unblocked by siglongjmp)", 2, caught);
    check_eq("si_addr is the address read", 0x2000, (long)fault_addr);
    end();
}
