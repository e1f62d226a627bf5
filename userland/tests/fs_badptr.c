/* Bad pointers given to the new file calls: each fails with EFAULT and the kernel goes on. */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/syscall.h>

#define BAD ((void *)0x10)

static int fault(long r) { return r < 0 ? errno : 0; }

int main(void)
{
    begin("fs_badptr");
    int fd = open("/bp", O_CREAT | O_RDWR, 0644);
    write(fd, "data", 4);
    int out = open("/bp-out", O_CREAT | O_RDWR, 0644);
    symlink("/bp", "/bp-link");
    check_eq("readlink into a bad buffer", EFAULT, fault(syscall(SYS_readlink, "/bp-link", BAD, 10)));
    check_eq("symlink with a bad target", EFAULT, fault(syscall(SYS_symlink, BAD, "/bp-x")));
    check_eq("symlink with a bad name", EFAULT, fault(syscall(SYS_symlink, "/bp", BAD)));
    check_eq("link from a bad path", EFAULT, fault(syscall(SYS_link, BAD, "/bp-y")));
    check_eq("chmod a bad path", EFAULT, fault(syscall(SYS_chmod, BAD, 0644)));
    check_eq("lstat into a bad buffer", EFAULT, fault(syscall(SYS_lstat, "/bp", BAD)));
    check_eq("statx into a bad buffer", EFAULT, fault(syscall(SYS_statx, AT_FDCWD, "/bp", 0, 0x7ff, BAD)));
    check_eq("statfs into a bad buffer", EFAULT, fault(syscall(SYS_statfs, "/", BAD)));
    check_eq("fstatfs into a bad buffer", EFAULT, fault(syscall(SYS_fstatfs, fd, BAD)));
    check_eq("utimensat with bad times", EFAULT, fault(syscall(SYS_utimensat, AT_FDCWD, "/bp", BAD, 0)));
    check_eq("fcntl F_GETLK with a bad flock", EFAULT, fault(syscall(SYS_fcntl, fd, F_GETLK, BAD)));
    check_eq("sendfile with a bad offset pointer", EFAULT, fault(syscall(SYS_sendfile, out, fd, BAD, 4)));
    check_eq("mknod a bad path", EFAULT, fault(syscall(SYS_mknod, BAD, 0010644, 0)));
    int disk = open("/dev/disk0", O_RDONLY);
    check_eq("BLKGETSIZE64 into a bad pointer", EFAULT, fault(syscall(SYS_ioctl, disk, 0x80081272, BAD)));
    char buf[8] = {0};
    check_eq("the file is untouched", 4, pread(fd, buf, sizeof buf, 0));
    end();
}
