/* statx: the basic fields agree with stat, by path, by descriptor (AT_EMPTY_PATH), and of
 * a link itself (AT_SYMLINK_NOFOLLOW). */
#define _GNU_SOURCE
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>

struct statx_ts { long long tv_sec; unsigned tv_nsec; int pad; };
struct statx_ {
    unsigned mask, blksize;
    unsigned long long attributes;
    unsigned nlink, uid, gid;
    unsigned short mode, pad1;
    unsigned long long ino, size, blocks, attributes_mask;
    struct statx_ts atime, btime, ctime, mtime;
    unsigned rdev_major, rdev_minor, dev_major, dev_minor;
    unsigned long long spare[14];
};

static long do_statx(int dirfd, const char *path, int flags, struct statx_ *sx)
{
    return syscall(SYS_statx, dirfd, path, flags, 0x7ff, sx);
}

int main(void)
{
    begin("fs_statx");
    check_eq("struct statx is 256 bytes", 256, sizeof(struct statx_));
    int fd = open("/sx", O_CREAT | O_RDWR, 0644);
    write(fd, "0123456789", 10);
    struct stat st;
    fstat(fd, &st);
    struct statx_ sx;
    check_eq("statx by path", 0, do_statx(AT_FDCWD, "/sx", 0, &sx));
    check_eq("mask has the basic stats", 0x7ff, sx.mask & 0x7ff);
    check_eq("size", 10, sx.size);
    check_eq("ino as stat", (long long)st.st_ino, sx.ino);
    check_eq("mode as stat", st.st_mode, sx.mode);
    check_eq("nlink", 1, sx.nlink);
    check_eq("blocks as stat", st.st_blocks, sx.blocks);
    check_eq("mtime as stat", st.st_mtime, sx.mtime.tv_sec);
    check_eq("dev major 8", 8, sx.dev_major);
    memset(&sx, 0, sizeof sx);
    check_eq("statx of the descriptor (AT_EMPTY_PATH)", 0, do_statx(fd, "", AT_EMPTY_PATH, &sx));
    check_eq("same inode", (long long)st.st_ino, sx.ino);
    symlink("/sx", "/sx-link");
    check_eq("statx of the link, not followed", 0, do_statx(AT_FDCWD, "/sx-link", AT_SYMLINK_NOFOLLOW, &sx));
    check_eq("it is a link", S_IFLNK, sx.mode & S_IFMT);
    check_eq("statx follows by default", 0, do_statx(AT_FDCWD, "/sx-link", 0, &sx));
    check_eq("a regular file", S_IFREG, sx.mode & S_IFMT);
    errno = 0;
    check_eq("empty path without AT_EMPTY_PATH: ENOENT", -1, do_statx(fd, "", 0, &sx));
    check_eq("... errno", ENOENT, errno);
    check_eq("a bad flag: EINVAL", -1, do_statx(AT_FDCWD, "/sx", 0x1, &sx));
    check_eq("... errno", EINVAL, errno);
    check_eq("a bad descriptor: EBADF", -1, do_statx(77, "", AT_EMPTY_PATH, &sx));
    check_eq("... errno", EBADF, errno);
    close(fd);
    end();
}
