/* mkdir: make directories.
 *   mkdir [-p] dir...      -p: make missing parents too, and do not mind if dir exists */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* mkdir -p: make each prefix of the path ("a", "a/b", "a/b/c") that is missing. */
static int make_parents(char *path)
{
    for (char *p = path + 1; ; p++) {
        if (*p != '/' && *p != 0)
            continue;
        char saved = *p;
        *p = 0;                                 /* cut the path here for a moment */
        struct stat st;
        int r = 0;
        if (stat(path, &st) < 0)
            r = mkdir(path, 0777);
        else if (!S_ISDIR(st.st_mode)) {
            errno = ENOTDIR;
            r = -1;
        }
        *p = saved;
        if (r < 0)
            return -1;
        if (saved == 0)
            return 0;
    }
}

int main(int argc, char **argv)
{
    int parents = 0, status = 0, i = 1;
    if (i < argc && strcmp(argv[i], "-p") == 0) {
        parents = 1;
        i++;
    }
    if (i == argc) {
        fprintf(stderr, "usage: mkdir [-p] dir...\n");
        return 1;
    }
    for (; i < argc; i++) {
        int r = parents ? make_parents(argv[i]) : mkdir(argv[i], 0777);
        if (r < 0) {
            fprintf(stderr, "mkdir: cannot create directory '%s': %s\n", argv[i], strerror(errno));
            status = 1;
        }
    }
    return status;
}
