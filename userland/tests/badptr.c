/* Passes bad pointers to system calls: each returns EFAULT and the process goes on. */
#include "check.h"
#include <errno.h>
#include <unistd.h>
#include <sys/syscall.h>

int main(void)
{
    begin("badptr");
    long r = syscall(SYS_write, 1, (void *)0x10, 8);
    check_eq("write from an unmapped buffer returns -EFAULT", -EFAULT, r == -1 ? -errno : r);
    r = syscall(SYS_write, 1, (void *)0xffff800000000000ul, 8);
    check_eq("write from a kernel address returns -EFAULT", -EFAULT, r == -1 ? -errno : r);
    r = syscall(SYS_read, 0, (void *)0x7fffffffffffff00ul, 8);
    check_eq("read into a non-canonical address returns -EFAULT", -EFAULT, r == -1 ? -errno : r);
    r = syscall(SYS_uname, (void *)0x1000);
    check_eq("uname into an unmapped buffer returns -EFAULT", -EFAULT, r == -1 ? -errno : r);
    end();
}
