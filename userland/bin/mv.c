/* mv: rename files and directories.
 *   mv old new            rename old to new (replacing a file called new)
 *   mv file... dir        move the files into the directory dir */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The last component of a path: "a/b/c" -> "c". */
static const char *base(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: mv old new, or mv file... dir\n");
        return 1;
    }
    const char *target = argv[argc - 1];
    int into_dir = is_dir(target), status = 0;
    if (argc > 3 && !into_dir) {
        fprintf(stderr, "mv: %s: not a directory\n", target);
        return 1;
    }
    for (int i = 1; i < argc - 1; i++) {
        char dest[4096];
        if (into_dir)
            snprintf(dest, sizeof dest, "%s/%s", target, base(argv[i]));
        else
            snprintf(dest, sizeof dest, "%s", target);
        if (rename(argv[i], dest) < 0) {
            fprintf(stderr, "mv: cannot move '%s' to '%s': %s\n", argv[i], dest, strerror(errno));
            status = 1;
        }
    }
    return status;
}
