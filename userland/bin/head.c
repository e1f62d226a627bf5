/* head: print the first lines of files.
 *   head [-n N] [file...]     N lines (default 10) of each file, or of standard input.
 * With several files, each starts with a "==> name <==" heading. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Copy up to `lines` lines from fd to standard output, then stop reading: a writer on the
 * other side of a pipe then gets SIGPIPE, which is how `yes | head` ends. */
static int head(int fd, long lines)
{
    static char buf[65536];
    long n;
    while (lines > 0 && (n = read(fd, buf, sizeof buf)) > 0) {
        long take = 0;
        while (take < n && lines > 0)
            if (buf[take++] == '\n')
                lines--;
        if (write(1, buf, take) != take)
            return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    long lines = 10;
    int i = 1;
    if (i + 1 < argc && strcmp(argv[i], "-n") == 0) {
        lines = atol(argv[i + 1]);
        i += 2;
    } else if (i < argc && argv[i][0] == '-' && argv[i][1] >= '0' && argv[i][1] <= '9') {
        lines = atol(argv[i] + 1);              /* the old form: head -5 */
        i++;
    }
    if (i == argc)
        return head(0, lines);
    int status = 0;
    for (int j = i; j < argc; j++) {
        int fd = open(argv[j], O_RDONLY);
        if (fd < 0) {
            fprintf(stderr, "head: %s: %s\n", argv[j], strerror(errno));
            status = 1;
            continue;
        }
        if (argc - i > 1) {
            char heading[4200];
            int len = snprintf(heading, sizeof heading, "%s==> %s <==\n", j > i ? "\n" : "", argv[j]);
            write(1, heading, len);
        }
        status |= head(fd, lines);
        close(fd);
    }
    return status;
}
