/* rm -r: read a directory in small getdents batches and unlink each entry as it comes;
 * every entry must be seen once, none skipped.  fs_readdir_unlink [DIR] (default /many,
 * on the disk; /tmp/many is on tmpfs). */
#include "check.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define NFILES 60

struct dirent64_ { unsigned long long ino; long long off; unsigned short reclen; unsigned char type; char name[]; };

int main(int argc, char **argv)
{
    begin("fs_readdir_unlink");
    const char *dir = argc > 1 ? argv[1] : "/many";
    mkdir(dir, 0755);
    char path[128];
    for (int i = 0; i < NFILES; i++) {
        snprintf(path, sizeof path, "%s/file-with-a-longish-name-%03d", dir, i);
        close(open(path, O_CREAT | O_WRONLY, 0644));
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    char buf[200];                      /* a few entries per call */
    int removed = 0, calls = 0;
    for (;;) {
        long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
        if (n <= 0)
            break;
        calls++;
        for (long pos = 0; pos < n;) {
            struct dirent64_ *d = (struct dirent64_ *)(buf + pos);
            if (strcmp(d->name, ".") && strcmp(d->name, "..")) {
                snprintf(path, sizeof path, "%s/%s", dir, d->name);
                if (unlink(path) == 0)
                    removed++;
            }
            pos += d->reclen;
        }
    }
    close(fd);
    check("several getdents calls", calls > 3);
    check_eq("every entry seen and removed", NFILES, removed);
    check_eq("the directory is empty: rmdir works", 0, rmdir(dir));
    end();
}
