/* Directories and names: mkdir, getdents (readdir), rename, unlink, rmdir, chdir, getcwd,
 * and the errors each one owes. */
#include "check.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

static int err(int r) { return r < 0 ? errno : 0; }

static int count_entries(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static void touch(const char *path)
{
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    write(fd, "x", 1);
    close(fd);
}

int main(void)
{
    begin("dirs");
    check_eq("mkdir /d", 0, err(mkdir("/d", 0755)));
    check_eq("mkdir /d again is EEXIST", EEXIST, err(mkdir("/d", 0755)));
    touch("/d/a");
    touch("/d/b");
    check_eq("entries in /d (with . and ..)", 4, count_entries("/d"));
    check_eq("rename /d/a to /d/c", 0, err(rename("/d/a", "/d/c")));
    check_eq("old name is gone: ENOENT", ENOENT, err(open("/d/a", O_RDONLY)));
    check_eq("open a file as a directory path: ENOTDIR", ENOTDIR, err(open("/d/c/x", O_RDONLY)));
    check_eq("open a directory for writing: EISDIR", EISDIR, err(open("/d", O_WRONLY)));
    check_eq("rmdir a non-empty directory: ENOTEMPTY", ENOTEMPTY, err(rmdir("/d")));
    char longname[300];
    memset(longname, 'n', sizeof longname - 1);
    longname[0] = '/';
    longname[sizeof longname - 1] = 0;
    check_eq("a 298-byte name: ENAMETOOLONG", ENAMETOOLONG, err(open(longname, O_CREAT | O_WRONLY, 0644)));
    check_eq("chdir /d", 0, err(chdir("/d")));
    char cwd[64];
    check("getcwd is /d", getcwd(cwd, sizeof cwd) && strcmp(cwd, "/d") == 0);
    check_eq("relative unlink c", 0, err(unlink("c")));
    check_eq("relative unlink b", 0, err(unlink("b")));
    check_eq("unlink a missing file: ENOENT", ENOENT, err(unlink("b")));
    check_eq("chdir ..", 0, err(chdir("..")));
    check_eq("rmdir /d now empty", 0, err(rmdir("/d")));
    check_eq("stat /d after rmdir: ENOENT", ENOENT, err(access("/d", F_OK)));
    mkdir("/keep", 0755);
    touch("/keep/file");
    check_eq("rename a directory", 0, err(rename("/keep", "/kept")));
    check_eq("its file moved with it", 0, err(access("/kept/file", F_OK)));
    end();
}
