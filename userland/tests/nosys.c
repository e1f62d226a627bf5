/* Calls a system call the kernel does not have: ENOSYS, and the program goes on. */
#include "check.h"
#include <errno.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(void)
{
    begin("nosys");
    long r = syscall(999);
    check_eq("unknown call 999 fails with ENOSYS", ENOSYS, r == -1 ? errno : 0);
    r = syscall(SYS_io_setup, 1, (void *)0);
    check_eq("io_setup fails with ENOSYS", ENOSYS, r == -1 ? errno : 0);
    end();
}
