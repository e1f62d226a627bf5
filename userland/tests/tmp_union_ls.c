/* readdir of /tmp shows the guest's own tmpfs files and, after them, the host's files that
 * show through it, each name once.
 * Usage: tmp_union_ls HOSTFILE */
#include "check.h"
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

static int count(const char *name)
{
    DIR *d = opendir("/tmp");
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, name) == 0;
    closedir(d);
    return n;
}

int main(int argc, char **argv)
{
    begin("tmp_union_ls");
    int fd = open("/tmp/guest-own-file", O_CREAT | O_WRONLY, 0600);
    close(fd);
    check_eq("the guest's own file is listed once", 1, count("guest-own-file"));
    check_eq("the host's file is listed once", 1, count(strrchr(argv[1], '/') + 1));
    check_eq(". once", 1, count("."));
    check_eq(".. once", 1, count(".."));
    char buf[16] = {0};
    fd = open(argv[1], O_RDONLY);
    check_eq("the host's file reads through /tmp", 4, read(fd, buf, sizeof buf - 1));
    end();
}
