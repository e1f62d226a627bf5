/* wc: count lines, words and bytes.
 *   wc [-l] [-w] [-c] [file...]     (no file, or "-": standard input)
 * Prints "lines words bytes name" for each file, and a "total" line for several, in
 * columns as wide as GNU coreutils makes them: wide enough for the total size of the
 * regular files, and at least 7 if one of the inputs is not a regular file (a pipe). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

static int show_lines, show_words, show_bytes, width = 1;

static void print(long long lines, long long words, long long bytes, const char *name)
{
    const char *sep = "";
    if (show_lines) { printf("%*lld", width, lines); sep = " "; }
    if (show_words) { printf("%s%*lld", sep, width, words); sep = " "; }
    if (show_bytes) { printf("%s%*lld", sep, width, bytes); }
    if (name)
        printf(" %s", name);
    printf("\n");
}

/* Count one open file.  Words are runs of characters that are not white space. */
static int count(int fd, long long *lines, long long *words, long long *bytes)
{
    static unsigned char buf[65536];
    int in_word = 0;
    long n;
    *lines = *words = *bytes = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        *bytes += n;
        for (long i = 0; i < n; i++) {
            if (buf[i] == '\n')
                ++*lines;
            if (isspace(buf[i])) {
                in_word = 0;
            } else if (!in_word) {
                in_word = 1;
                ++*words;
            }
        }
    }
    return n < 0 ? -1 : 0;
}

/* The column width coreutils would use (see the header comment). */
static int column_width(char **files, int nfiles)
{
    if (show_lines + show_words + show_bytes == 1 && nfiles <= 1)
        return 1;                               /* one number: no padding at all */
    long long regular_total = 0;
    int w = 1, minimum = 1;
    for (int i = 0; i < (nfiles ? nfiles : 1); i++) {
        struct stat st;
        int r = nfiles == 0 || strcmp(files[i], "-") == 0 ? fstat(0, &st) : stat(files[i], &st);
        if (r < 0) {
            if (i == 0)
                return 1;                       /* as coreutils: first file unreadable */
            continue;
        }
        if (S_ISREG(st.st_mode))
            regular_total += st.st_size;
        else
            minimum = 7;
    }
    for (; regular_total >= 10; regular_total /= 10)
        w++;
    return w < minimum ? minimum : w;
}

int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        for (char *f = argv[i] + 1; *f; f++) {
            if (*f == 'l') show_lines = 1;
            else if (*f == 'w') show_words = 1;
            else if (*f == 'c') show_bytes = 1;
            else {
                fprintf(stderr, "usage: wc [-l] [-w] [-c] [file...]\n");
                return 1;
            }
        }
    }
    if (!show_lines && !show_words && !show_bytes)
        show_lines = show_words = show_bytes = 1;
    char **files = argv + i;
    int nfiles = argc - i, status = 0;
    width = column_width(files, nfiles);

    long long lines, words, bytes, total_lines = 0, total_words = 0, total_bytes = 0;
    if (nfiles == 0) {
        if (count(0, &lines, &words, &bytes) < 0) {
            fprintf(stderr, "wc: read error: %s\n", strerror(errno));
            status = 1;
        }
        print(lines, words, bytes, NULL);
        return status;
    }
    for (int f = 0; f < nfiles; f++) {
        int stdin_ = strcmp(files[f], "-") == 0;
        int fd = stdin_ ? 0 : open(files[f], O_RDONLY);
        if (fd < 0 || count(fd, &lines, &words, &bytes) < 0) {
            fprintf(stderr, "wc: %s: %s\n", files[f], strerror(errno));
            status = 1;
            if (fd > 0)
                close(fd);
            continue;
        }
        if (!stdin_)
            close(fd);
        print(lines, words, bytes, files[f]);
        total_lines += lines;
        total_words += words;
        total_bytes += bytes;
    }
    if (nfiles > 1)
        print(total_lines, total_words, total_bytes, "total");
    return status;
}
