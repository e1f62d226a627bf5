/* chmod, fchmod, fchmodat, chown, fchown, lchown, fchownat and utimensat, seen by stat.
 * Leaves /attrs (mode 0640, owner 1000:100, mtime 1000000000) for the host to check. */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <time.h>

static int err(int r) { return r < 0 ? errno : 0; }

int main(void)
{
    begin("fs_attrs");
    umask(0);
    int fd = open("/attrs", O_CREAT | O_RDWR, 0666);
    struct stat st;
    check_eq("chmod 0600", 0, err(chmod("/attrs", 0600)));
    stat("/attrs", &st);
    check_eq("stat shows 0600", 0100600, st.st_mode);
    check_eq("fchmod 0751", 0, err(fchmod(fd, 0751)));
    fstat(fd, &st);
    check_eq("fstat shows 0751", 0100751, st.st_mode);
    check_eq("fchmodat 0640", 0, err(fchmodat(AT_FDCWD, "/attrs", 0640, 0)));
    stat("/attrs", &st);
    check_eq("stat shows 0640", 0100640, st.st_mode);
    check_eq("chown 1000:100", 0, err(chown("/attrs", 1000, 100)));
    stat("/attrs", &st);
    check_eq("uid 1000", 1000, st.st_uid);
    check_eq("gid 100", 100, st.st_gid);
    check_eq("fchown -1:200 keeps the uid", 0, err(fchown(fd, -1, 200)));
    fstat(fd, &st);
    check_eq("uid still 1000", 1000, st.st_uid);
    check_eq("gid 200", 200, st.st_gid);
    check_eq("fchownat back to gid 100", 0, err(fchownat(AT_FDCWD, "/attrs", -1, 100, 0)));
    symlink("/attrs", "/attrs-link");
    check_eq("lchown the link only", 0, err(lchown("/attrs-link", 7, 7)));
    lstat("/attrs-link", &st);
    check_eq("the link's uid 7", 7, st.st_uid);
    stat("/attrs-link", &st);
    check_eq("the target's uid still 1000", 1000, st.st_uid);

    struct timespec ts[2] = {{123456789, 0}, {1000000000, 0}};
    check_eq("utimensat sets atime and mtime", 0, err(utimensat(AT_FDCWD, "/attrs", ts, 0)));
    stat("/attrs", &st);
    check_eq("atime", 123456789, st.st_atime);
    check_eq("mtime", 1000000000, st.st_mtime);
    struct timespec omit[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    check_eq("UTIME_NOW atime, UTIME_OMIT mtime", 0, err(utimensat(AT_FDCWD, "/attrs", omit, 0)));
    stat("/attrs", &st);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    check("atime is now (the virtual clock)", st.st_atime <= now.tv_sec && st.st_atime >= now.tv_sec - 2);
    check_eq("mtime left alone", 1000000000, st.st_mtime);
    struct timespec bad[2] = {{0, 1000000000}, {0, 0}};
    check_eq("a bad tv_nsec: EINVAL", EINVAL, err(utimensat(AT_FDCWD, "/attrs", bad, 0)));
    check_eq("futimens(fd, NULL) sets both to now", 0, err(futimens(fd, NULL)));
    fstat(fd, &st);
    check("mtime is now", st.st_mtime >= now.tv_sec - 2);
    check_eq("put mtime back for the host", 0, err(utimensat(AT_FDCWD, "/attrs", ts, 0)));
    check_eq("chmod a missing file: ENOENT", ENOENT, err(chmod("/none", 0644)));
    check_eq("fchmod a bad fd: EBADF", EBADF, err(fchmod(99, 0644)));
    close(fd);
    end();
}
