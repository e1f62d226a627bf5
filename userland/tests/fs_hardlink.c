/* Hard links: link and linkat add names to one inode, unlink drops them one at a time and
 * the data goes only with the last. */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

static int err(int r) { return r < 0 ? errno : 0; }

static long nlink(const char *path)
{
    struct stat st;
    return stat(path, &st) < 0 ? -errno : (long)st.st_nlink;
}

int main(void)
{
    begin("fs_hardlink");
    int fd = open("/a", O_CREAT | O_WRONLY, 0644);
    check_eq("write /a", 4, write(fd, "data", 4));
    close(fd);
    check_eq("one link to start", 1, nlink("/a"));
    check_eq("link /a /b", 0, err(link("/a", "/b")));
    check_eq("two links", 2, nlink("/a"));
    mkdir("/d", 0755);
    check_eq("linkat into a directory", 0, err(linkat(AT_FDCWD, "/a", AT_FDCWD, "/d/c", 0)));
    check_eq("three links", 3, nlink("/b"));
    struct stat sa, sc;
    stat("/a", &sa);
    stat("/d/c", &sc);
    check("same inode under both names", sa.st_ino == sc.st_ino);
    check_eq("link to an existing name: EEXIST", EEXIST, err(link("/a", "/b")));
    check_eq("link a directory: EPERM", EPERM, err(link("/d", "/d2")));
    check_eq("link a missing file: ENOENT", ENOENT, err(link("/none", "/x")));
    check_eq("linkat with a bad flag: EINVAL", EINVAL, err(linkat(AT_FDCWD, "/a", AT_FDCWD, "/e", 0x1)));
    check_eq("unlink /a", 0, err(unlink("/a")));
    check_eq("two links left", 2, nlink("/b"));
    char buf[8] = {0};
    fd = open("/d/c", O_RDONLY);
    check_eq("data still there", 4, read(fd, buf, sizeof buf));
    close(fd);
    check("... data", memcmp(buf, "data", 4) == 0);
    check_eq("unlink /b", 0, err(unlink("/b")));
    check_eq("one link left", 1, nlink("/d/c"));
    end();
}
