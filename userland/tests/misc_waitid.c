/* waitid: WNOWAIT leaves the child a zombie that wait4 then reaps; siginfo says who and
 * how; WNOHANG with nothing to report clears the record; WSTOPPED sees a stop. */
#include "check.h"
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    begin("misc_waitid");
    pid_t pid = fork();
    if (pid == 0)
        _exit(42);
    siginfo_t si;
    memset(&si, 0xff, sizeof si);
    check_eq("waitid(P_PID, WEXITED|WNOWAIT)", 0, waitid(P_PID, pid, &si, WEXITED | WNOWAIT));
    check_eq("si_signo", SIGCHLD, si.si_signo);
    check_eq("si_pid", pid, si.si_pid);
    check_eq("si_code CLD_EXITED", CLD_EXITED, si.si_code);
    check_eq("si_status", 42, si.si_status);
    int st;
    check_eq("wait4 still reaps it", pid, waitpid(pid, &st, 0));
    check_eq("exit status", 42, WEXITSTATUS(st));
    errno = 0;
    check_eq("waitid when no child is left", -1, waitid(P_ALL, 0, &si, WEXITED));
    check_eq("... ECHILD", ECHILD, errno);

    pid = fork();
    if (pid == 0) {
        pause();
        _exit(0);
    }
    memset(&si, 0xff, sizeof si);
    check_eq("waitid WNOHANG, nothing yet", 0, waitid(P_ALL, 0, &si, WEXITED | WNOHANG));
    check_eq("... si_pid cleared", 0, si.si_pid);
    kill(pid, SIGSTOP);
    check_eq("waitid(P_PGID, WSTOPPED)", 0, waitid(P_PGID, 0, &si, WSTOPPED));
    check_eq("si_code CLD_STOPPED", CLD_STOPPED, si.si_code);
    check_eq("si_status SIGSTOP", SIGSTOP, si.si_status);
    kill(pid, SIGCONT);
    check_eq("waitid(WCONTINUED)", 0, waitid(P_PID, pid, &si, WCONTINUED));
    check_eq("si_code CLD_CONTINUED", CLD_CONTINUED, si.si_code);
    kill(pid, SIGKILL);
    check_eq("waitid(P_ALL, WEXITED)", 0, waitid(P_ALL, 0, &si, WEXITED));
    check_eq("si_code CLD_KILLED", CLD_KILLED, si.si_code);
    check_eq("si_status SIGKILL", SIGKILL, si.si_status);
    errno = 0;
    check_eq("waitid without WEXITED/WSTOPPED/WCONTINUED", -1, waitid(P_ALL, 0, &si, WNOHANG));
    check_eq("... EINVAL", EINVAL, errno);
    end();
}
