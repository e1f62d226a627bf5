/* The x87/SSE state survives a signal handler: the frame holds an FXSAVE image
 * (uc_mcontext.fpregs), the handler starts with a clean state and may change the rounding
 * modes and registers as it likes, and rt_sigreturn takes the interrupted state back from
 * the user's copy, so an edit of the saved xmm registers is what the program resumes with. */
#include "check.h"
#include <fenv.h>
#include <signal.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>

static volatile int alarms, clean_start = 1;
static volatile double handler_sum;

static void on_alarm(int sig, siginfo_t *si, void *ctx)
{
    unsigned short cw;
    unsigned mxcsr;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    if (cw != 0x37F || mxcsr != 0x1F80)
        clean_start = 0;
    fesetround(FE_UPWARD);                   /* both x87 and SSE rounding change here ... */
    volatile double x = 1.0;
    for (int i = 0; i < 50; i++)
        x = x / 3.0 + 0.7;
    handler_sum += x;
    alarms++;                                /* ... and must not leak out of the handler */
}

static double work(int n)
{
    volatile double a = 0.1, s = 0;
    volatile long double l = 0;
    for (int i = 0; i < n; i++) {
        s = s * 0.999 + a / (i + 1);
        l = l + (long double)s / 7;
    }
    return s + (double)l;
}

static void on_usr1(int sig, siginfo_t *si, void *ctx)
{
    ucontext_t *uc = ctx;
    double two = 2.5;
    memcpy(&uc->uc_mcontext.fpregs->_xmm[7], &two, sizeof two);   /* edit the saved xmm7 */
}

int main(void)
{
    begin("fpu_signal");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_alarm;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);

    double quiet = work(1000000);
    struct itimerval it = {{0, 500}, {0, 500}};       /* every 0.5 ms of virtual time */
    setitimer(ITIMER_REAL, &it, NULL);
    double loud = work(1000000);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    msg("%d SIGALRM handlers ran", alarms);
    check("SIGALRM handlers ran during the computation", alarms > 10);
    check("each handler started with cw 0x37F and MXCSR 0x1F80", clean_start);
    check("the computation is exact with handlers in between", quiet == loud);
    check_eq("rounding mode after the handlers", FE_TONEAREST, fegetround());

    sa.sa_sigaction = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    double one = 1.5, out;
    long pid = getpid();
    __asm__ volatile("movsd %1, %%xmm7\n\t"
                     "mov $62, %%eax\n\t"          /* kill(pid, SIGUSR1) */
                     "mov %2, %%rdi\n\t"
                     "mov $10, %%esi\n\t"
                     "syscall\n\t"
                     "movsd %%xmm7, %0"
                     : "=m"(out) : "m"(one), "r"(pid) : "rax", "rdi", "rsi", "rcx", "r11", "xmm7", "memory");
    check("xmm7 after the handler is the value it wrote into the frame (2.5)", out == 2.5);
    end();
}
