/* Symbolic links on ext2: a fast one (target in the inode) and a slow one (a data block),
 * read back with readlink, seen by lstat, followed by stat and open. */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

static int err(int r) { return r < 0 ? errno : 0; }

int main(void)
{
    begin("fs_symlink");
    int fd = open("/target", O_CREAT | O_WRONLY, 0644);
    check_eq("write the target", 5, write(fd, "hello", 5));
    close(fd);
    check_eq("symlink fast -> target", 0, err(symlink("target", "/fast")));
    char slow[200];                         /* 193 slashes and "target": 199 bytes */
    memset(slow, '/', 193);
    memcpy(slow + 193, "target", 7);
    check_eq("symlink slow -> a 199-byte path", 0, err(symlink(slow, "/slow")));
    check_eq("symlink over an existing name: EEXIST", EEXIST, err(symlink("x", "/fast")));

    char buf[300];
    check_eq("readlink fast returns its length", 6, readlink("/fast", buf, sizeof buf));
    check("readlink fast gives the target", memcmp(buf, "target", 6) == 0);
    check_eq("readlink slow returns its length", 199, readlink("/slow", buf, sizeof buf));
    check("readlink slow gives the target", memcmp(buf, slow, 199) == 0);
    memset(buf, 'z', sizeof buf);
    check_eq("readlink into 3 bytes is cut to 3", 3, readlink("/fast", buf, 3));
    check("... with no NUL added", memcmp(buf, "tarz", 4) == 0);
    check_eq("readlinkat relative to AT_FDCWD", 6, readlinkat(AT_FDCWD, "/fast", buf, sizeof buf));
    check_eq("readlink of a regular file: EINVAL", EINVAL, err(readlink("/target", buf, sizeof buf)));
    check_eq("readlink of a missing name: ENOENT", ENOENT, err(readlink("/nothing", buf, sizeof buf)));

    struct stat st;
    check_eq("lstat fast", 0, err(lstat("/fast", &st)));
    check_eq("lstat says S_IFLNK", S_IFLNK, st.st_mode & S_IFMT);
    check_eq("lstat size is the target's length", 6, st.st_size);
    check_eq("stat fast follows it", 0, err(stat("/fast", &st)));
    check_eq("stat says S_IFREG", S_IFREG, st.st_mode & S_IFMT);
    check_eq("stat size is the file's", 5, st.st_size);
    check_eq("fstatat AT_SYMLINK_NOFOLLOW", 0, err(fstatat(AT_FDCWD, "/slow", &st, AT_SYMLINK_NOFOLLOW)));
    check_eq("... says S_IFLNK", S_IFLNK, st.st_mode & S_IFMT);
    check_eq("... size 199", 199, st.st_size);

    fd = open("/slow", O_RDONLY);
    check("open through the slow link", fd >= 0);
    check_eq("reads the target's bytes", 5, read(fd, buf, sizeof buf));
    check("... hello", memcmp(buf, "hello", 5) == 0);
    close(fd);
    check_eq("open O_NOFOLLOW on a link: ELOOP", ELOOP, err(open("/fast", O_RDONLY | O_NOFOLLOW)));
    check_eq("symlinkat a dangling link", 0, err(symlinkat("nowhere", AT_FDCWD, "/dangling")));
    check_eq("open a dangling link: ENOENT", ENOENT, err(open("/dangling", O_RDONLY)));
    fd = open("/dangling", O_CREAT | O_WRONLY, 0644);
    check("O_CREAT through a dangling link", fd >= 0);
    close(fd);
    check_eq("... created its target", 0, err(stat("/nowhere", &st)));
    check_eq("... and the link is still a link", 0, err(lstat("/dangling", &st)));
    check_eq("... S_IFLNK", S_IFLNK, st.st_mode & S_IFMT);
    check_eq("O_CREAT|O_EXCL on a link: EEXIST", EEXIST, err(open("/fast", O_CREAT | O_EXCL | O_WRONLY, 0644)));
    check_eq("unlink removes the link, not the target", 0, err(unlink("/fast")));
    check_eq("the target stays", 0, err(stat("/target", &st)));
    end();
}
