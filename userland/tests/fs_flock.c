/* flock: shared and exclusive locks between open files of one inode, LOCK_NB answering
 * EWOULDBLOCK, release at close, a waiter woken by the unlock; fcntl's record-lock
 * commands answer (F_GETLK finds the range unlocked). */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/wait.h>

static int err(int r) { return r < 0 ? errno : 0; }

int main(void)
{
    begin("fs_flock");
    int a = open("/lockme", O_CREAT | O_RDWR, 0644);
    int b = open("/lockme", O_RDWR);
    check_eq("a takes LOCK_EX", 0, err(flock(a, LOCK_EX)));
    check_eq("b LOCK_EX|LOCK_NB: EWOULDBLOCK", EWOULDBLOCK, err(flock(b, LOCK_EX | LOCK_NB)));
    check_eq("b LOCK_SH|LOCK_NB: EWOULDBLOCK", EWOULDBLOCK, err(flock(b, LOCK_SH | LOCK_NB)));
    int a2 = dup(a);
    check_eq("a dup of a shares its lock", 0, err(flock(a2, LOCK_EX | LOCK_NB)));
    check_eq("a unlocks", 0, err(flock(a, LOCK_UN)));
    check_eq("b LOCK_SH", 0, err(flock(b, LOCK_SH | LOCK_NB)));
    check_eq("a LOCK_SH too", 0, err(flock(a, LOCK_SH | LOCK_NB)));
    check_eq("a LOCK_EX|LOCK_NB while b shares: EWOULDBLOCK", EWOULDBLOCK, err(flock(a, LOCK_EX | LOCK_NB)));
    close(b);
    check_eq("closing b released its lock: a LOCK_EX", 0, err(flock(a, LOCK_EX | LOCK_NB)));
    check_eq("a bad operation: EINVAL", EINVAL, err(flock(a, 0)));
    check_eq("a bad fd: EBADF", EBADF, err(flock(77, LOCK_SH)));

    pid_t pid = fork();
    if (pid == 0) {
        int c = open("/lockme", O_RDWR);
        int r = flock(c, LOCK_EX);           /* waits for the parent's unlock */
        _exit(r == 0 ? 0 : 1);
    }
    for (int i = 0; i < 5; i++)
        sched_yield();
    check_eq("parent unlocks", 0, err(flock(a, LOCK_UN)));
    int status;
    waitpid(pid, &status, 0);
    check_eq("the waiting child got LOCK_EX", 0, WEXITSTATUS(status));

    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10};
    check_eq("F_SETLK write lock", 0, err(fcntl(a, F_SETLK, &fl)));
    fl.l_type = F_WRLCK;
    check_eq("F_GETLK", 0, err(fcntl(a, F_GETLK, &fl)));
    check_eq("F_GETLK reports F_UNLCK", F_UNLCK, fl.l_type);
    fl.l_type = F_UNLCK;
    check_eq("F_SETLKW unlock", 0, err(fcntl(a, F_SETLKW, &fl)));
    fl.l_type = 9;
    check_eq("a bad l_type: EINVAL", EINVAL, err(fcntl(a, F_SETLK, &fl)));
    int r = open("/lockme", O_RDONLY);
    fl.l_type = F_WRLCK;
    check_eq("a write lock on a read-only fd: EBADF", EBADF, err(fcntl(r, F_SETLK, &fl)));
    fl.l_pid = 0;
    fl.l_type = F_RDLCK;
    check_eq("F_OFD_SETLK", 0, err(fcntl(r, F_OFD_SETLK, &fl)));
    fl.l_pid = 5;
    check_eq("F_OFD_GETLK with l_pid set: EINVAL", EINVAL, err(fcntl(r, F_OFD_GETLK, &fl)));
    close(r);
    close(a);
    close(a2);
    end();
}
