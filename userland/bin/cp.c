/* cp: copy files.
 *   cp from to            copy the file from to the file to (made or replaced)
 *   cp file... dir        copy the files into the directory dir */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static const char *base(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

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
    if (argc < 3) {
        fprintf(stderr, "usage: cp from to, or cp file... dir\n");
        return 1;
    }
    const char *target = argv[argc - 1];
    int into_dir = is_dir(target), status = 0;
    if (argc > 3 && !into_dir) {
        fprintf(stderr, "cp: %s: not a directory\n", target);
        return 1;
    }
    for (int i = 1; i < argc - 1; i++) {
        char dest[4096];
        if (into_dir)
            snprintf(dest, sizeof dest, "%s/%s", target, base(argv[i]));
        else
            snprintf(dest, sizeof dest, "%s", target);
        status |= copy(argv[i], dest);
    }
    return status;
}
