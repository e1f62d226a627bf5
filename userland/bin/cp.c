/* cp: copy files.
 *   cp from to            copy the file from to the file to (made or replaced)
 *   cp file... dir        copy the files into the directory dir */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "targets.h"

/* Copy one file; the copy gets the original's permission bits.  Returns 0 or 1. */
static int copy(const char *from, const char *to)
{
    static char buf[65536];
    struct stat st;
    int in = open(from, O_RDONLY);
    if (in < 0 || fstat(in, &st) < 0) {
        fprintf(stderr, "cp: %s: %s\n", from, strerror(errno));
        return 1;
    }
    if (S_ISDIR(st.st_mode)) {
        fprintf(stderr, "cp: %s: is a directory (not copied)\n", from);
        close(in);
        return 1;
    }
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, st.st_mode & 0777);
    if (out < 0) {
        fprintf(stderr, "cp: %s: %s\n", to, strerror(errno));
        close(in);
        return 1;
    }
    long n;
    int status = 0;
    while ((n = read(in, buf, sizeof buf)) > 0) {
        if (write(out, buf, n) != n) {
            fprintf(stderr, "cp: %s: write error: %s\n", to, strerror(errno));
            status = 1;
            break;
        }
    }
    if (n < 0) {
        fprintf(stderr, "cp: %s: read error: %s\n", from, strerror(errno));
        status = 1;
    }
    close(in);
    if (close(out) < 0)
        status = 1;
    return status;
}

int main(int argc, char **argv)
{
    return for_each_target(argc, argv, "cp", "cp from to, or cp file... dir", copy);
}
