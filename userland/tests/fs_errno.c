/* errno values as Linux returns them, for the cases real programs trip over. */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

static int err(long r) { return r < 0 ? errno : 0; }

int main(void)
{
    begin("fs_errno");
    int fd = open("/file", O_CREAT | O_RDWR, 0644);
    write(fd, "abc", 3);
    check_eq("dup2 to a negative fd: EBADF", EBADF, err(dup2(fd, -1)));
    check_eq("dup2 to fd 100000: EBADF", EBADF, err(dup2(fd, 100000)));
    check_eq("dup2 from a bad fd: EBADF", EBADF, err(dup2(77, 3)));
    char *argv[] = {"/file", NULL};
    chmod("/file", 0644);
    check_eq("execve a file without x bits: EACCES", EACCES, err(execve("/file", argv, NULL)));
    check_eq("execve a directory: EACCES", EACCES, err(execve("/bin", argv, NULL)));
    check_eq("access(X_OK) of a file without x bits: EACCES", EACCES, err(access("/file", X_OK)));
    check_eq("access(X_OK) of a program", 0, err(access("/bin/true", X_OK)));
    check_eq("access(X_OK) of a directory", 0, err(access("/bin", X_OK)));
    static char longpath[5000];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[0] = '/';
    check_eq("a path longer than PATH_MAX: ENAMETOOLONG", ENAMETOOLONG, err(open(longpath, O_RDONLY)));
    check_eq("open(\"file/\"): ENOTDIR", ENOTDIR, err(open("/file/", O_RDONLY)));
    check_eq("stat(\"file/\"): ENOTDIR", ENOTDIR, err(access("/file/", F_OK)));
    check_eq("open(\"new/\", O_CREAT): EISDIR", EISDIR, err(open("/new/", O_CREAT | O_WRONLY, 0644)));
    check_eq("rmdir(\"/\"): EBUSY", EBUSY, err(rmdir("/")));
    check_eq("unlink(\"\"): ENOENT", ENOENT, err(unlink("")));
    check_eq("rmdir(\"\"): ENOENT", ENOENT, err(rmdir("")));
    char buf[4];
    check_eq("pread at a negative offset: EINVAL", EINVAL, err(pread(fd, buf, 1, -1)));
    check_eq("pwrite at a negative offset: EINVAL", EINVAL, err(pwrite(fd, buf, 1, -5)));
    mkdir("/full", 0755);
    close(open("/full/x", O_CREAT | O_WRONLY, 0644));
    check_eq("rmdir a non-empty directory: ENOTEMPTY", ENOTEMPTY, err(rmdir("/full")));
    check_eq("mkdir an existing name: EEXIST", EEXIST, err(mkdir("/full", 0755)));
    check_eq("mkdir over a file: EEXIST", EEXIST, err(mkdir("/file", 0755)));
    mkdir("/full/sub", 0755);
    check_eq("rename a directory into its own subdirectory: EINVAL", EINVAL,
             err(rename("/full", "/full/sub/inner")));
    check_eq("rename a directory into itself: EINVAL", EINVAL, err(rename("/full", "/full/inner")));
    close(fd);
    end();
}
