/* The kernel's short cut for quick system calls (kernel.py _on_syscall) keeps what the
 * full path does: a signal that a call makes deliverable runs its handler before the
 * instruction after the call, a blocked one waits until a call unblocks it, quick calls
 * with a signal pending but blocked do not deliver it, a timer firing in a loop of quick
 * calls interrupts it, and arguments and results travel intact. */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>

static volatile int usr1, alarms;
static void on_usr1(int sig) { usr1++; }
static void on_alarm(int sig) { alarms++; }

int main(void)
{
    begin("sys_fastpath");
    signal(SIGUSR1, on_usr1);
    long me = syscall(SYS_getpid);
    syscall(SYS_kill, me, SIGUSR1);
    int seen = usr1;
    check_eq("a signal sent to oneself has run its handler when kill returns", 1, seen);

    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    syscall(SYS_kill, me, SIGUSR1);
    check_eq("a blocked signal waits", 1, usr1);
    for (int i = 0; i < 1000; i++)
        syscall(SYS_getppid);
    check_eq("quick calls with it pending and blocked do not deliver it", 1, usr1);
    sigpending(&pending);
    check_eq("it is still pending", 1, sigismember(&pending, SIGUSR1));
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    seen = usr1;
    check_eq("unblocking runs the handler as sigprocmask returns", 2, seen);

    signal(SIGALRM, on_alarm);
    struct itimerval it = {{0, 0}, {0, 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
    long calls = 0;
    while (!alarms && calls < 100000000L) {
        syscall(SYS_getppid);
        calls++;
    }
    check_eq("a timer interrupts a loop of quick calls", 1, alarms);

    int fd = open("/tmp/fastpath", O_RDWR | O_CREAT | O_TRUNC, 0600);
    char page[4096];
    memset(page, 'A', sizeof page);
    write(fd, page, sizeof page);
    memset(page, 'B', sizeof page);
    write(fd, page, sizeof page);
    char *m = (char *)syscall(SYS_mmap, 0, 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
    check_eq("all six arguments reach the handler (mmap at file offset 4096)", 'B', m[0]);
    check_eq("a bad pointer is EFAULT", -1, syscall(SYS_uname, (void *)8));
    check_eq("errno", EFAULT, errno);
    struct utsname u;
    check_eq("a good one is not", 0, syscall(SYS_uname, &u));
    check_eq("a negative result survives", -1, syscall(SYS_close, 12345));
    check_eq("errno", EBADF, errno);
    end();
}
