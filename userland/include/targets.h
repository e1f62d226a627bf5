/* The argument convention cp and mv share:
 *   PROG from to          act on from, giving to
 *   PROG file... dir      act on each file, giving dir/its last path component
 * for_each_target() checks the arguments, works out each destination and calls
 * act(source, destination); it returns 1 if the arguments are wrong or any act()
 * returned non-zero, else 0. */
#ifndef TARGETS_H
#define TARGETS_H

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

static int for_each_target(int argc, char **argv, const char *name, const char *usage,
                           int (*act)(const char *from, const char *to))
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s\n", usage);
        return 1;
    }
    const char *target = argv[argc - 1];
    int into_dir = is_dir(target), status = 0;
    if (argc > 3 && !into_dir) {
        fprintf(stderr, "%s: %s: not a directory\n", name, target);
        return 1;
    }
    for (int i = 1; i < argc - 1; i++) {
        char dest[4096];
        if (into_dir)
            snprintf(dest, sizeof dest, "%s/%s", target, base(argv[i]));
        else
            snprintf(dest, sizeof dest, "%s", target);
        status |= act(argv[i], dest) != 0;
    }
    return status;
}

#endif
