/* ls: list directories.
 *   ls [-l] [-a] [name...]   (default: the current directory)
 * A directory lists its entries, sorted by name, one per line; a file lists itself.
 * Names starting with "." are left out unless -a.  With -l each line shows the type and
 * permissions, the link count, the size in bytes and the name:
 *   drwxr-xr-x  2     4096 bin
 *   -rw-r--r--  1       52 motd
 * With several names, each directory's list comes after a "name:" heading. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int long_format, show_all;

/* "drwxr-xr-x" from a mode. */
static void mode_string(mode_t m, char *s)
{
    s[0] = S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : S_ISCHR(m) ? 'c' : S_ISBLK(m) ? 'b'
         : S_ISFIFO(m) ? 'p' : S_ISSOCK(m) ? 's' : '-';
    const char *rwx = "rwxrwxrwx";
    for (int i = 0; i < 9; i++)
        s[1 + i] = m & (0400 >> i) ? rwx[i] : '-';
    s[10] = 0;
}

/* Print one entry: path is where it is, name is what to print. */
static void show(const char *path, const char *name)
{
    if (!long_format) {
        printf("%s\n", name);
        return;
    }
    struct stat st;
    if (lstat(path, &st) < 0) {
        fprintf(stderr, "ls: %s: %s\n", path, strerror(errno));
        return;
    }
    char mode[11];
    mode_string(st.st_mode, mode);
    printf("%s %2lu %8lld %s\n", mode, (unsigned long)st.st_nlink, (long long)st.st_size, name);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* List a directory: read every name, sort them, print them. */
static int list_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "ls: %s: %s\n", dir, strerror(errno));
        return 2;
    }
    char **names = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' && !show_all)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            names = realloc(names, cap * sizeof *names);
            if (!names) {
                fprintf(stderr, "ls: out of memory\n");
                exit(2);
            }
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        show(path, names[i]);
        free(names[i]);
    }
    free(names);
    return 0;
}

int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        for (char *f = argv[i] + 1; *f; f++) {
            if (*f == 'l')
                long_format = 1;
            else if (*f == 'a')
                show_all = 1;
            else {
                fprintf(stderr, "usage: ls [-l] [-a] [name...]\n");
                return 2;
            }
        }
    }
    if (i == argc)
        return list_dir(".");
    /* Files first, as one list; then each directory under its heading. */
    int status = 0, files = 0, several = argc - i > 1;
    for (int j = i; j < argc; j++) {
        struct stat st;
        if (stat(argv[j], &st) < 0) {
            fprintf(stderr, "ls: %s: %s\n", argv[j], strerror(errno));
            status = 2;
        } else if (!S_ISDIR(st.st_mode)) {
            show(argv[j], argv[j]);
            files++;
        }
    }
    int dirs = 0;
    for (int j = i; j < argc; j++) {
        struct stat st;
        if (stat(argv[j], &st) < 0 || !S_ISDIR(st.st_mode))
            continue;
        if (several)
            printf("%s%s:\n", files || dirs ? "\n" : "", argv[j]);
        status |= list_dir(argv[j]);
        dirs++;
    }
    return status;
}
