/* rm: remove files.
 *   rm [-r] [-f] name...   -r: remove directories and everything in them
 *                          -f: say nothing about names that do not exist */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

static int recursive, force;

static int remove_path(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0) {                 /* lstat: never follow a link out */
        if (force && errno == ENOENT)
            return 0;
        fprintf(stderr, "rm: %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
        if (unlink(path) < 0) {
            fprintf(stderr, "rm: %s: %s\n", path, strerror(errno));
            return 1;
        }
        return 0;
    }
    if (!recursive) {
        fprintf(stderr, "rm: %s: is a directory\n", path);
        return 1;
    }
    /* A directory: empty it first (depth first), then remove it.  The names are read
     * before any is removed: changing a directory while reading it may skip entries. */
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "rm: %s: %s\n", path, strerror(errno));
        return 1;
    }
    char **names = NULL;
    int n = 0, status = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char **more = realloc(names, (n + 1) * sizeof *names);
        if (!more || !(more[n] = malloc(strlen(path) + strlen(e->d_name) + 2))) {
            fprintf(stderr, "rm: out of memory\n");
            return 1;
        }
        names = more;
        sprintf(names[n++], "%s/%s", path, e->d_name);
    }
    closedir(d);
    for (int i = 0; i < n; i++) {
        status |= remove_path(names[i]);
        free(names[i]);
    }
    free(names);
    if (rmdir(path) < 0) {
        fprintf(stderr, "rm: %s: %s\n", path, strerror(errno));
        return 1;
    }
    return status;
}

int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        for (char *f = argv[i] + 1; *f; f++) {  /* -r, -f, -rf, -fr */
            if (*f == 'r' || *f == 'R')
                recursive = 1;
            else if (*f == 'f')
                force = 1;
            else {
                fprintf(stderr, "usage: rm [-r] [-f] name...\n");
                return 1;
            }
        }
    }
    if (i == argc && !force) {
        fprintf(stderr, "usage: rm [-r] [-f] name...\n");
        return 1;
    }
    int status = 0;
    for (; i < argc; i++)
        status |= remove_path(argv[i]);
    return status;
}
